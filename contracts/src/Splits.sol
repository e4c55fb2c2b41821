// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

// A minimal 0xSplits-v2-compatible pull split for cairn's devnet (spec/aztec-l1-staking.md
// §4.2, §9.5), written for this project: the factory, split and warehouse expose the same
// function signatures, struct ABI and events that staking tools read, without the full
// 0xSplits feature set (no owner control, no pausing, no ERC6909 approvals).

interface IERC20 {
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
    function approve(address spender, uint256 amount) external returns (bool);
    function balanceOf(address owner) external view returns (uint256);
}

struct Split {
    address[] recipients;
    uint256[] allocations;
    uint256 totalAllocation;
    uint16 distributionIncentive;
}

library SplitV2Lib {
    error InvalidSplit_TotalAllocationMismatch();
    error InvalidSplit_LengthMismatch();

    function validate(Split calldata _split) internal pure {
        if (_split.recipients.length != _split.allocations.length) revert InvalidSplit_LengthMismatch();
        uint256 sum;
        for (uint256 i = 0; i < _split.allocations.length; i++) {
            sum += _split.allocations[i];
        }
        if (sum != _split.totalAllocation) revert InvalidSplit_TotalAllocationMismatch();
    }

    function hashSplit(Split memory _split) internal pure returns (bytes32) {
        return keccak256(abi.encode(_split));
    }
}

/// Per-owner token balances (ids are uint160(token)), as the 0xSplits warehouse keeps them.
contract SplitsWarehouse {
    event Transfer(address caller, address indexed sender, address indexed receiver, uint256 indexed id, uint256 amount);
    event Withdraw(address indexed owner, address indexed token, address withdrawer, uint256 amount, uint256 reward);

    error ZeroOwner();
    error LengthMismatch();
    error InsufficientBalance();

    string public name;
    string public symbol;

    mapping(address owner => mapping(uint256 id => uint256 amount)) public balanceOf;

    constructor(string memory _name, string memory _symbol) {
        name = _name;
        symbol = _symbol;
    }

    /// Pulls `_amount` of `_token` from the caller and credits `_receiver`.
    function deposit(address _receiver, address _token, uint256 _amount) external {
        if (_receiver == address(0)) revert ZeroOwner();
        require(IERC20(_token).transferFrom(msg.sender, address(this), _amount), "transferFrom failed");
        balanceOf[_receiver][uint256(uint160(_token))] += _amount;
        emit Transfer(msg.sender, address(0), _receiver, uint256(uint160(_token)), _amount);
    }

    /// Moves the caller's warehouse balance of `_token` to several receivers.
    function batchTransfer(address[] calldata _receivers, address _token, uint256[] calldata _amounts) external {
        if (_receivers.length != _amounts.length) revert LengthMismatch();
        uint256 id = uint256(uint160(_token));
        for (uint256 i = 0; i < _receivers.length; i++) {
            if (balanceOf[msg.sender][id] < _amounts[i]) revert InsufficientBalance();
            balanceOf[msg.sender][id] -= _amounts[i];
            balanceOf[_receivers[i]][id] += _amounts[i];
            emit Transfer(msg.sender, msg.sender, _receivers[i], id, _amounts[i]);
        }
    }

    /// Sends `_owner`'s balance minus 1 wei (kept, as 0xSplits does, so the slot stays warm) to `_owner`.
    function withdraw(address _owner, address _token) external {
        uint256 id = uint256(uint160(_token));
        uint256 balance = balanceOf[_owner][id];
        if (balance <= 1) return;
        uint256 amount = balance - 1;
        balanceOf[_owner][id] = 1;
        require(IERC20(_token).transfer(_owner, amount), "transfer failed");
        emit Withdraw(_owner, _token, msg.sender, amount, 0);
    }
}

/// One split: holds tokens until `distribute` moves them to the recipients' warehouse balances.
contract PullSplit {
    event SplitUpdated(Split _split);
    event SplitDistributed(address indexed token, address indexed distributor, uint256 amount);

    error InvalidSplit();

    SplitsWarehouse public immutable SPLITS_WAREHOUSE;
    bytes32 public splitHash;

    constructor(SplitsWarehouse _warehouse, Split memory _split) {
        SPLITS_WAREHOUSE = _warehouse;
        splitHash = SplitV2Lib.hashSplit(_split);
        emit SplitUpdated(_split);
    }

    function distribute(Split calldata _split, address _token, address _distributor) external {
        if (SplitV2Lib.hashSplit(_split) != splitHash) revert InvalidSplit();
        uint256 balance = IERC20(_token).balanceOf(address(this));
        // Leave 1 wei behind, as 0xSplits does.
        if (balance <= 1) {
            emit SplitDistributed(_token, _distributor, 0);
            return;
        }
        uint256 amount = balance - 1;
        require(IERC20(_token).approve(address(SPLITS_WAREHOUSE), amount), "approve failed");
        SPLITS_WAREHOUSE.deposit(address(this), _token, amount);
        uint256[] memory shares = new uint256[](_split.recipients.length);
        for (uint256 i = 0; i < shares.length; i++) {
            shares[i] = amount * _split.allocations[i] / _split.totalAllocation;
        }
        SPLITS_WAREHOUSE.batchTransfer(_split.recipients, _token, shares);
        emit SplitDistributed(_token, _distributor, amount);
    }
}

/// Creates pull splits; the same (split, owner) twice gets distinct addresses through a nonce.
contract PullSplitFactory {
    event SplitCreated(address indexed split, Split splitParams, address owner, address creator, uint256 nonce);

    SplitsWarehouse public immutable SPLITS_WAREHOUSE;
    mapping(bytes32 => uint256) public nonces;

    constructor(SplitsWarehouse _warehouse) {
        SPLITS_WAREHOUSE = _warehouse;
    }

    function createSplit(Split calldata _splitParams, address _owner, address _creator)
        external
        returns (address split)
    {
        SplitV2Lib.validate(_splitParams);
        bytes32 hash = keccak256(abi.encode(_splitParams, _owner));
        uint256 nonce = nonces[hash]++;
        bytes32 salt = keccak256(bytes.concat(hash, abi.encode(nonce)));
        split = address(new PullSplit{salt: salt}(SPLITS_WAREHOUSE, _splitParams));
        emit SplitCreated(split, _splitParams, _owner, _creator, nonce);
    }
}
