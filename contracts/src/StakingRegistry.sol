// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

// cairn's devnet StakingRegistry: written for this project from the behaviour described in
// spec/aztec-l1-staking.md §2 (ABI, events, errors, queue semantics identical to Aztec's
// StakingRegistry), so that provider tooling can be tested against a faithful registry
// sitting next to the real Aztec Rollup, GSE and Registry.

import {IERC20, PullSplitFactory, Split} from "./Splits.sol";

struct G1Point {
    uint256 x;
    uint256 y;
}

struct G2Point {
    uint256 x0;
    uint256 x1;
    uint256 y0;
    uint256 y1;
}

struct KeyStore {
    address attester;
    G1Point publicKeyG1;
    G2Point publicKeyG2;
    G1Point proofOfPossession;
}

struct ProviderConfiguration {
    address providerAdmin;
    uint16 providerTakeRate;
    address providerRewardsRecipient;
}

/// The part of Aztec's governance Registry the staking registry uses.
interface IRollupRegistry {
    function getRollup(uint256 _version) external view returns (address);
}

/// The part of Aztec's Rollup (IStaking) the staking registry uses.
interface IStakingRollup {
    function getActivationThreshold() external view returns (uint256);

    function deposit(
        address _attester,
        address _withdrawer,
        G1Point calldata _publicKeyInG1,
        G2Point calldata _publicKeyInG2,
        G1Point calldata _proofOfPossession,
        bool _moveWithLatestRollup
    ) external;
}

/// A FIFO of key stores with absolute indices: `first == last` is empty, entries are never deleted.
library QueueLib {
    error QueueIsEmpty();
    error QueueIndexOutOfBounds();

    struct Queue {
        mapping(uint256 index => KeyStore) keyStores;
        uint128 first;
        uint128 last;
    }

    function init(Queue storage self) internal {
        self.first = 1;
        self.last = 1;
    }

    function enqueue(Queue storage self, KeyStore memory _keyStore) internal {
        uint128 last = self.last;
        self.keyStores[last] = _keyStore;
        self.last = last + 1;
    }

    function dequeue(Queue storage self) internal returns (KeyStore memory keyStore) {
        uint128 first = self.first;
        if (self.last <= first) revert QueueIsEmpty();
        keyStore = self.keyStores[first];
        self.first = first + 1;
    }

    function length(Queue storage self) internal view returns (uint256) {
        return self.last - self.first;
    }

    function at(Queue storage self, uint128 _index) internal view returns (KeyStore memory) {
        if (_index < self.first || _index >= self.last) revert QueueIndexOutOfBounds();
        return self.keyStores[_index];
    }
}

contract StakingRegistry {
    using QueueLib for QueueLib.Queue;

    uint256 internal constant BIPS = 10_000;

    event ProviderRegistered(
        uint256 indexed providerIdentifier, address indexed providerAdmin, uint16 indexed providerTakeRate
    );
    event ProviderAdminUpdateInitiated(uint256 indexed providerIdentifier, address indexed newAdmin);
    event ProviderAdminUpdated(uint256 indexed providerIdentifier, address indexed newAdmin);
    event ProviderTakeRateUpdated(uint256 indexed providerIdentifier, uint16 newTakeRate);
    event ProviderRewardsRecipientUpdated(uint256 indexed providerIdentifier, address indexed newRewardsRecipient);
    event ProviderQueueDripped(uint256 indexed providerIdentifier, address indexed attester);
    event AttestersAddedToProvider(uint256 indexed providerIdentifier, address[] attesters);
    event StakedWithProvider(
        uint256 indexed providerIdentifier,
        address indexed rollupAddress,
        address indexed attester,
        address coinbaseSplitContractAddress,
        address stakerImplementation
    );

    error StakingRegistry__ZeroAddress();
    error StakingRegistry__InvalidProviderIdentifier(uint256 _providerIdentifier);
    error StakingRegistry__NotProviderAdmin();
    error StakingRegistry__UpdatedProviderAdminToSameAddress();
    error StakingRegistry__UpdatedProviderTakeRateToSameValue();
    error StakingRegistry__NotPendingProviderAdmin();
    error StakingRegistry__InvalidTakeRate(uint256 _takeRate);
    error StakingRegistry__UnexpectedTakeRate(uint256 _expectedTakeRate, uint256 _providerTakeRate);

    PullSplitFactory public immutable PULL_SPLIT_FACTORY;
    IERC20 public immutable STAKING_ASSET;
    IRollupRegistry public immutable ROLLUP_REGISTRY;

    // Storage order matches the layout in spec §2.7 (slots 0..3).
    mapping(uint256 => ProviderConfiguration) public providerConfigurations;
    mapping(uint256 => QueueLib.Queue) public providerQueues;
    uint256 public nextProviderIdentifier = 1;
    mapping(uint256 => address) public pendingProviderAdmins;

    modifier onlyProviderAdmin(uint256 _providerIdentifier) {
        if (msg.sender != providerConfigurations[_providerIdentifier].providerAdmin) {
            revert StakingRegistry__NotProviderAdmin();
        }
        _;
    }

    constructor(IERC20 _stakingAsset, address _pullSplitFactory, IRollupRegistry _rollupRegistry) {
        STAKING_ASSET = _stakingAsset;
        PULL_SPLIT_FACTORY = PullSplitFactory(_pullSplitFactory);
        ROLLUP_REGISTRY = _rollupRegistry;
    }

    function registerProvider(address _providerAdmin, uint16 _providerTakeRate, address _providerRewardsRecipient)
        external
        returns (uint256)
    {
        if (_providerAdmin == address(0) || _providerRewardsRecipient == address(0)) {
            revert StakingRegistry__ZeroAddress();
        }
        if (_providerTakeRate > BIPS) revert StakingRegistry__InvalidTakeRate(_providerTakeRate);
        uint256 id = nextProviderIdentifier++;
        providerConfigurations[id] = ProviderConfiguration({
            providerAdmin: _providerAdmin,
            providerTakeRate: _providerTakeRate,
            providerRewardsRecipient: _providerRewardsRecipient
        });
        providerQueues[id].init();
        emit ProviderRegistered(id, _providerAdmin, _providerTakeRate);
        return id;
    }

    function addKeysToProvider(uint256 _providerIdentifier, KeyStore[] calldata _keyStores)
        external
        onlyProviderAdmin(_providerIdentifier)
    {
        address[] memory attesters = new address[](_keyStores.length);
        QueueLib.Queue storage queue = providerQueues[_providerIdentifier];
        for (uint256 i = 0; i < _keyStores.length; i++) {
            queue.enqueue(_keyStores[i]);
            attesters[i] = _keyStores[i].attester;
        }
        emit AttestersAddedToProvider(_providerIdentifier, attesters);
    }

    function updateProviderAdmin(uint256 _providerIdentifier, address _newAdmin)
        external
        onlyProviderAdmin(_providerIdentifier)
    {
        if (_newAdmin == address(0)) revert StakingRegistry__ZeroAddress();
        if (_newAdmin == providerConfigurations[_providerIdentifier].providerAdmin) {
            revert StakingRegistry__UpdatedProviderAdminToSameAddress();
        }
        pendingProviderAdmins[_providerIdentifier] = _newAdmin;
        emit ProviderAdminUpdateInitiated(_providerIdentifier, _newAdmin);
    }

    function acceptProviderAdmin(uint256 _providerIdentifier) external {
        if (msg.sender != pendingProviderAdmins[_providerIdentifier]) {
            revert StakingRegistry__NotPendingProviderAdmin();
        }
        providerConfigurations[_providerIdentifier].providerAdmin = msg.sender;
        delete pendingProviderAdmins[_providerIdentifier];
        emit ProviderAdminUpdated(_providerIdentifier, msg.sender);
    }

    function updateProviderRewardsRecipient(uint256 _providerIdentifier, address _newRewardsRecipient)
        external
        onlyProviderAdmin(_providerIdentifier)
    {
        if (_newRewardsRecipient == address(0)) revert StakingRegistry__ZeroAddress();
        providerConfigurations[_providerIdentifier].providerRewardsRecipient = _newRewardsRecipient;
        emit ProviderRewardsRecipientUpdated(_providerIdentifier, _newRewardsRecipient);
    }

    function updateProviderTakeRate(uint256 _providerIdentifier, uint16 _newTakeRate)
        external
        onlyProviderAdmin(_providerIdentifier)
    {
        if (_newTakeRate == providerConfigurations[_providerIdentifier].providerTakeRate) {
            revert StakingRegistry__UpdatedProviderTakeRateToSameValue();
        }
        if (_newTakeRate > BIPS) revert StakingRegistry__InvalidTakeRate(_newTakeRate);
        providerConfigurations[_providerIdentifier].providerTakeRate = _newTakeRate;
        emit ProviderTakeRateUpdated(_providerIdentifier, _newTakeRate);
    }

    function dripProviderQueue(uint256 _providerIdentifier, uint256 _numberOfKeysToDrip)
        external
        onlyProviderAdmin(_providerIdentifier)
    {
        QueueLib.Queue storage queue = providerQueues[_providerIdentifier];
        for (uint256 i = 0; i < _numberOfKeysToDrip; i++) {
            KeyStore memory dripped = queue.dequeue();
            emit ProviderQueueDripped(_providerIdentifier, dripped.attester);
        }
    }

    function stake(
        uint256 _providerIdentifier,
        uint256 _rollupVersion,
        address _withdrawalAddress,
        uint16 _expectedProviderTakeRate,
        address _userRewardsRecipient,
        bool _moveWithLatestRollup
    ) external {
        ProviderConfiguration memory config = providerConfigurations[_providerIdentifier];
        if (config.providerAdmin == address(0)) {
            revert StakingRegistry__InvalidProviderIdentifier(_providerIdentifier);
        }
        if (_withdrawalAddress == address(0) || _userRewardsRecipient == address(0)) {
            revert StakingRegistry__ZeroAddress();
        }
        if (_expectedProviderTakeRate != config.providerTakeRate) {
            revert StakingRegistry__UnexpectedTakeRate(_expectedProviderTakeRate, config.providerTakeRate);
        }
        address rollup = ROLLUP_REGISTRY.getRollup(_rollupVersion);
        if (rollup == address(0)) revert StakingRegistry__ZeroAddress();

        KeyStore memory keyStore = providerQueues[_providerIdentifier].dequeue();

        uint256 amount = IStakingRollup(rollup).getActivationThreshold();
        _safeTransferFrom(STAKING_ASSET, msg.sender, address(this), amount);
        _safeApprove(STAKING_ASSET, rollup, amount);
        IStakingRollup(rollup).deposit(
            keyStore.attester,
            _withdrawalAddress,
            keyStore.publicKeyG1,
            keyStore.publicKeyG2,
            keyStore.proofOfPossession,
            _moveWithLatestRollup
        );

        address[] memory recipients = new address[](2);
        recipients[0] = config.providerRewardsRecipient;
        recipients[1] = _userRewardsRecipient;
        uint256[] memory allocations = new uint256[](2);
        allocations[0] = config.providerTakeRate;
        allocations[1] = BIPS - config.providerTakeRate;
        address split = PULL_SPLIT_FACTORY.createSplit(
            Split({recipients: recipients, allocations: allocations, totalAllocation: BIPS, distributionIncentive: 0}),
            address(0),
            address(this)
        );

        emit StakedWithProvider(_providerIdentifier, rollup, keyStore.attester, split, msg.sender);
    }

    function getProviderQueueLength(uint256 _providerIdentifier) external view returns (uint256) {
        return providerQueues[_providerIdentifier].length();
    }

    function getFirstIndexInQueue(uint256 _providerIdentifier) external view returns (uint128) {
        return providerQueues[_providerIdentifier].first;
    }

    function getLastIndexInQueue(uint256 _providerIdentifier) external view returns (uint128) {
        return providerQueues[_providerIdentifier].last;
    }

    function getValueAtIndexInQueue(uint256 _providerIdentifier, uint128 _index)
        external
        view
        returns (KeyStore memory)
    {
        return providerQueues[_providerIdentifier].at(_index);
    }

    function getActivationThreshold(uint256 _rollupVersion) external view returns (uint256) {
        return IStakingRollup(ROLLUP_REGISTRY.getRollup(_rollupVersion)).getActivationThreshold();
    }

    // Tokens that return nothing or true are accepted, like OpenZeppelin's SafeERC20.
    function _safeTransferFrom(IERC20 _token, address _from, address _to, uint256 _amount) internal {
        (bool ok, bytes memory ret) =
            address(_token).call(abi.encodeCall(IERC20.transferFrom, (_from, _to, _amount)));
        _checkTokenCall(ok, ret);
    }

    function _safeApprove(IERC20 _token, address _spender, uint256 _amount) internal {
        (bool ok, bytes memory ret) = address(_token).call(abi.encodeCall(IERC20.approve, (_spender, _amount)));
        _checkTokenCall(ok, ret);
    }

    function _checkTokenCall(bool _ok, bytes memory _ret) private pure {
        if (!_ok) {
            // Bubble the token's own error (for example ERC20InsufficientAllowance) to the caller.
            assembly {
                revert(add(_ret, 0x20), mload(_ret))
            }
        }
        require(_ret.length == 0 || abi.decode(_ret, (bool)), "token call returned false");
    }
}
