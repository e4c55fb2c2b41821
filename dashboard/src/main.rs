//! cairn's staking-registration page. Everything secret stays in this tab: keys are derived,
//! decrypted and signed by `cairn_keys` compiled to wasm, in a Web Worker (`worker.js` loads this
//! same module and calls [`run_flow`]), and the page makes no network request after loading.

use cairn_dashboard::flow;

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use leptos::prelude::*;
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// Entry point for the worker: one JSON request, progress reported through `progress(done,
/// total)`, one JSON response.
#[wasm_bindgen]
pub fn run_flow(request: String, progress: js_sys::Function) -> String {
    flow::handle(&request, &mut |done, total| {
        let _ = progress.call2(
            &JsValue::NULL,
            &(done as u32).into(),
            &(total as u32).into(),
        );
    })
}

type Callback = Box<dyn FnOnce(Value)>;

thread_local! {
    static WORKER: RefCell<Option<web_sys::Worker>> = const { RefCell::new(None) };
    static PENDING: RefCell<BTreeMap<u32, Callback>> = const { RefCell::new(BTreeMap::new()) };
    static NEXT_ID: Cell<u32> = const { Cell::new(1) };
}

/// Sends a request to the worker; `done` gets the response.
fn request(req: Value, done: impl FnOnce(Value) + 'static) {
    let id = NEXT_ID.with(|n| {
        let id = n.get();
        n.set(id + 1);
        id
    });
    PENDING.with(|p| p.borrow_mut().insert(id, Box::new(done)));
    let msg = js_sys::JSON::parse(&json!({"id": id, "request": req}).to_string())
        .expect("serde_json output is valid JSON");
    WORKER.with(|w| {
        if let Some(w) = w.borrow().as_ref() {
            let _ = w.post_message(&msg);
        }
    });
}

fn field(v: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(v, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn start_worker(ready: RwSignal<bool>, progress: RwSignal<(u32, u32)>) -> Result<(), JsValue> {
    let opts = web_sys::WorkerOptions::new();
    opts.set_type(web_sys::WorkerType::Module);
    let worker = web_sys::Worker::new_with_options("./worker.js", &opts)?;
    let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
        move |ev: web_sys::MessageEvent| {
            let data = ev.data();
            match field(&data, "type").as_string().as_deref() {
                Some("ready") => ready.set(true),
                Some("progress") => {
                    let n = |k| field(&data, k).as_f64().unwrap_or(0.0) as u32;
                    progress.set((n("done"), n("total")));
                }
                Some("result") => {
                    let id = field(&data, "id").as_f64().unwrap_or(0.0) as u32;
                    let response = js_sys::JSON::stringify(&field(&data, "response"))
                    .ok()
                    .and_then(|s| s.as_string())
                    .and_then(|s| serde_json::from_str(&s).ok())
                    .unwrap_or_else(|| json!({"ok": false, "error": "internal error: unreadable worker answer"}));
                    if let Some(cb) = PENDING.with(|p| p.borrow_mut().remove(&id)) {
                        cb(response);
                    }
                }
                _ => {}
            }
        },
    );
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    WORKER.with(|w| *w.borrow_mut() = Some(worker));
    Ok(())
}

/// A `blob:` URL for a download, so the file never leaves the browser.
fn blob_url(text: &str) -> Option<String> {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type("application/json");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts).ok()?;
    web_sys::Url::create_object_url_with_blob(&blob).ok()
}

fn random_mnemonic() -> Result<String, String> {
    let mut entropy = [0u8; 16];
    let crypto = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .ok_or("this browser has no Web Crypto")?;
    crypto
        .get_random_values_with_u8_array(&mut entropy)
        .map_err(|_| "the browser refused to give random bytes")?;
    Ok(cairn_keys::mnemonic::from_entropy(&entropy).to_string())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Register,
    Generate,
    Verify,
    Batches,
}

/// Shared output state: one error area, one progress bar, one registration output.
#[derive(Clone, Copy)]
struct Outputs {
    error: RwSignal<Option<String>>,
    busy: RwSignal<bool>,
    progress: RwSignal<(u32, u32)>,
    registration: RwSignal<Option<String>>,
    download: RwSignal<Option<String>>,
    notes: RwSignal<Vec<String>>,
}

impl Outputs {
    /// Starts a request: clears everything a previous one showed, so no stale or partial output
    /// is ever offered.
    fn begin(&self) {
        self.error.set(None);
        self.registration.set(None);
        self.download.set(None);
        self.notes.set(Vec::new());
        self.progress.set((0, 0));
        self.busy.set(true);
    }

    /// Ends a request: an error or the registration output, never both.
    fn finish(&self, resp: &Value) -> bool {
        self.busy.set(false);
        if resp["ok"] == true {
            if let Some(reg) = resp["registration"].as_str() {
                self.download.set(blob_url(reg));
                self.registration.set(Some(reg.to_string()));
            }
            true
        } else {
            self.error.set(Some(
                resp["error"]
                    .as_str()
                    .unwrap_or("unknown error")
                    .to_string(),
            ));
            false
        }
    }
}

#[component]
fn RegistrationOutput(out: Outputs) -> impl IntoView {
    view! {
        <Show when=move || out.registration.with(Option::is_some)>
            <label>"Registration JSON"</label>
            <pre data-testid="registration-output">{move || out.registration.get().unwrap_or_default()}</pre>
            <div class="actions">
                <a data-testid="download-link" download="registration.json"
                   href=move || out.download.get().unwrap_or_default()>"Download registration.json"</a>
                <button on:click=move |_| {
                    if let (Some(w), Some(text)) = (web_sys::window(), out.registration.get_untracked()) {
                        let _ = w.navigator().clipboard().write_text(&text);
                    }
                }>"Copy"</button>
            </div>
        </Show>
    }
}

#[component]
fn RegisterView(out: Outputs) -> impl IntoView {
    let keystore = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let files: RwSignal<Vec<(String, String)>> = RwSignal::new(Vec::new());
    let on_files = move |ev: web_sys::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(list) = input.files() else { return };
        files.set(Vec::new());
        for i in 0..list.length() {
            if let Some(file) = list.get(i) {
                let name = file.name();
                leptos::task::spawn_local(async move {
                    let text = wasm_bindgen_futures::JsFuture::from(file.text()).await;
                    match text.ok().and_then(|t| t.as_string()) {
                        Some(t) => files.update(|f| f.push((name, t))),
                        None => out.error.set(Some(format!("cannot read the file {name}"))),
                    }
                });
            }
        }
    };
    let run = move |_| {
        out.begin();
        let dropped: serde_json::Map<String, Value> = files
            .get()
            .into_iter()
            .map(|(n, t)| (n, Value::String(t)))
            .collect();
        request(
            json!({"op": "register", "keystore": keystore.get(), "password": password.get(), "files": dropped}),
            move |resp| {
                if out.finish(&resp) {
                    let skipped: Vec<String> = resp["skipped"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|s| s.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default();
                    out.notes.set(skipped);
                }
            },
        );
    };
    view! {
        <p>"Paste a validator keystore (or drop the file on the box). If its BLS keys are in encrypted BN254 keystore files, add those files and type their password. The registration JSON is computed here; nothing is sent anywhere."</p>
        <label for="keystore">"Keystore JSON"</label>
        <textarea id="keystore" data-testid="keystore-input" prop:value=move || keystore.get()
            on:input=move |ev| keystore.set(event_target_value(&ev))
            on:drop=move |ev: web_sys::DragEvent| {
                ev.prevent_default();
                if let Some(file) = ev.data_transfer().and_then(|d| d.files()).and_then(|f| f.get(0)) {
                    leptos::task::spawn_local(async move {
                        if let Some(t) = wasm_bindgen_futures::JsFuture::from(file.text()).await.ok().and_then(|t| t.as_string()) {
                            keystore.set(t);
                        }
                    });
                }
            }
            on:dragover=move |ev: web_sys::DragEvent| ev.prevent_default()></textarea>
        <div class="row">
            <div>
                <label for="bls-files">"Encrypted key files (BN254 / JSON-V3)"</label>
                <input id="bls-files" type="file" multiple data-testid="bls-keystore-input" on:change=on_files />
            </div>
            <div>
                <label for="password">"Password (if not stored in the keystore)"</label>
                <input id="password" type="password" data-testid="password-input" autocomplete="off"
                    prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev)) />
            </div>
        </div>
        <button class="primary" data-testid="generate-button" prop:disabled=move || out.busy.get()
            on:click=run>"Create registration JSON"</button>
        <RegistrationOutput out=out />
    }
}

#[component]
fn GenerateView(out: Outputs) -> impl IntoView {
    let mnemonic = RwSignal::new(String::new());
    let count = RwSignal::new("1".to_string());
    let account = RwSignal::new("0".to_string());
    let address = RwSignal::new("0".to_string());
    let fee = RwSignal::new(String::new());
    let keystore_out: RwSignal<Option<String>> = RwSignal::new(None);
    let keystore_url: RwSignal<Option<String>> = RwSignal::new(None);
    let run = move |_| {
        out.begin();
        keystore_out.set(None);
        keystore_url.set(None);
        request(
            json!({"op": "generate", "mnemonic": mnemonic.get(), "count": count.get(),
                   "accountIndex": account.get(), "addressIndex": address.get(), "feeRecipient": fee.get()}),
            move |resp| {
                if out.finish(&resp) {
                    let ks = resp["keystore"].as_str().unwrap_or_default().to_string();
                    keystore_url.set(blob_url(&ks));
                    keystore_out.set(Some(ks));
                }
            },
        );
    };
    view! {
        <div class="warning">"A mnemonic typed into any web page must be treated as exposed unless the page is served from this machine and the machine is offline. Prefer `cairn validator-keys new` on an offline machine for real funds."</div>
        <label for="mnemonic">"Mnemonic"</label>
        <textarea id="mnemonic" data-testid="mnemonic-input" style="min-height: 3rem"
            prop:value=move || mnemonic.get() on:input=move |ev| mnemonic.set(event_target_value(&ev))></textarea>
        <button data-testid="new-mnemonic-button" on:click=move |_| match random_mnemonic() {
            Ok(m) => mnemonic.set(m),
            Err(e) => out.error.set(Some(e)),
        }>"New mnemonic (browser CSPRNG)"</button>
        <div class="row">
            <div><label>"Validators"</label><input type="number" min="1" data-testid="count-input"
                prop:value=move || count.get() on:input=move |ev| count.set(event_target_value(&ev)) /></div>
            <div><label>"Account index"</label><input type="number" min="0" data-testid="account-index-input"
                prop:value=move || account.get() on:input=move |ev| account.set(event_target_value(&ev)) /></div>
            <div><label>"First address index"</label><input type="number" min="0" data-testid="address-index-input"
                prop:value=move || address.get() on:input=move |ev| address.set(event_target_value(&ev)) /></div>
        </div>
        <label for="fee">"Fee recipient (Aztec address)"</label>
        <input id="fee" type="text" data-testid="fee-recipient-input"
            prop:value=move || fee.get() on:input=move |ev| fee.set(event_target_value(&ev)) />
        <button class="primary" data-testid="generate-keys-button" prop:disabled=move || out.busy.get()
            on:click=run>"Generate keystore and registration"</button>
        <Show when=move || keystore_out.with(Option::is_some)>
            <label>"Keystore (contains private keys)"</label>
            <pre data-testid="keystore-output">{move || keystore_out.get().unwrap_or_default()}</pre>
            <a data-testid="keystore-download-link" download="key1.json"
               href=move || keystore_url.get().unwrap_or_default()>"Download key1.json"</a>
        </Show>
        <RegistrationOutput out=out />
    }
}

#[component]
fn VerifyView(out: Outputs) -> impl IntoView {
    let text = RwSignal::new(String::new());
    let report: RwSignal<Option<Value>> = RwSignal::new(None);
    let run = move || {
        out.begin();
        report.set(None);
        request(
            json!({"op": "verify", "registration": text.get()}),
            move |resp| {
                out.busy.set(false);
                let r = resp.get("report").cloned();
                if let Some(r) = &r {
                    let failures = r["document"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .chain(
                            r["entries"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .flat_map(|e| e["checks"].as_array().into_iter().flatten()),
                        )
                        .filter(|c| c["status"] == "fail")
                        .count();
                    if failures > 0 {
                        out.error.set(Some(format!(
                            "{failures} check(s) failed: the L1 would reject this registration"
                        )));
                    }
                } else {
                    out.finish(&resp);
                }
                report.set(r);
            },
        );
    };
    let lines = move || -> Vec<(String, String)> {
        let Some(r) = report.get() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let push = |out: &mut Vec<(String, String)>, prefix: &str, c: &Value| {
            out.push((
                c["status"].as_str().unwrap_or("fail").to_string(),
                format!(
                    "{prefix}[{}] {}: {}",
                    c["status"].as_str().unwrap_or("?").to_uppercase(),
                    c["id"].as_str().unwrap_or("?"),
                    c["detail"].as_str().unwrap_or("")
                ),
            ))
        };
        for c in r["document"].as_array().into_iter().flatten() {
            push(&mut out, "", c);
        }
        for e in r["entries"].as_array().into_iter().flatten() {
            for c in e["checks"].as_array().into_iter().flatten() {
                push(&mut out, &format!("entry {} ", e["index"]), c);
            }
        }
        out
    };
    view! {
        <p>"Paste or drop a registration JSON (the staker output) to run the checks the L1 contracts will apply."</p>
        <textarea data-testid="verify-input" prop:value=move || text.get()
            on:input=move |ev| text.set(event_target_value(&ev))></textarea>
        <button class="primary" data-testid="verify-button" on:click=move |_| run()>"Verify"</button>
        <div data-testid="verify-status">
            {move || report.get().map(|r| if r["ok"] == true { "OK: every check passed" } else { "FAILED: see the items below" })}
            <div>
                {move || lines().into_iter().map(|(status, line)| view! { <div class=format!("check {status}")>{line}</div> }).collect_view()}
            </div>
        </div>
    }
}

#[component]
fn BatchesView(out: Outputs) -> impl IntoView {
    let text = RwSignal::new(String::new());
    let registry = RwSignal::new(String::new());
    let provider = RwSignal::new("1".to_string());
    let size = RwSignal::new("100".to_string());
    let batches: RwSignal<Option<Value>> = RwSignal::new(None);
    let run = move |_| {
        out.begin();
        batches.set(None);
        request(
            json!({"op": "batches", "registration": text.get(), "registry": registry.get(),
                   "providerId": provider.get(), "batchSize": size.get()}),
            move |resp| {
                if out.finish(&resp) {
                    batches.set(resp.get("batches").cloned());
                }
            },
        );
    };
    let rendered = move || {
        batches.get().map(|b| {
            b.as_array()
                .into_iter()
                .flatten()
                .enumerate()
                .map(|(i, x)| {
                    format!(
                        "# batch {} (registrations {}..{})\ncalldata {}\n{}\n",
                        i + 1,
                        x["first"],
                        x["first"].as_u64().unwrap_or(0) + x["count"].as_u64().unwrap_or(0),
                        x["calldata"].as_str().unwrap_or(""),
                        x["cast"].as_str().unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
    };
    view! {
        <p>"Turn registrations into StakingRegistry.addKeysToProvider transactions for a delegated-stake provider."</p>
        <textarea data-testid="batch-input" prop:value=move || text.get()
            on:input=move |ev| text.set(event_target_value(&ev))></textarea>
        <div class="row">
            <div><label>"StakingRegistry address"</label><input type="text" data-testid="registry-input"
                prop:value=move || registry.get() on:input=move |ev| registry.set(event_target_value(&ev)) /></div>
            <div><label>"Provider id"</label><input type="number" min="0" data-testid="provider-id-input"
                prop:value=move || provider.get() on:input=move |ev| provider.set(event_target_value(&ev)) /></div>
            <div><label>"Keys per transaction"</label><input type="number" min="1" data-testid="batch-size-input"
                prop:value=move || size.get() on:input=move |ev| size.set(event_target_value(&ev)) /></div>
        </div>
        <button class="primary" data-testid="batch-button" on:click=run>"Build batches"</button>
        <Show when=move || batches.with(Option::is_some)>
            <pre data-testid="batch-output">{rendered}</pre>
        </Show>
    }
}

#[component]
fn App() -> impl IntoView {
    let out = Outputs {
        error: RwSignal::new(None),
        busy: RwSignal::new(false),
        progress: RwSignal::new((0, 0)),
        registration: RwSignal::new(None),
        download: RwSignal::new(None),
        notes: RwSignal::new(Vec::new()),
    };
    let ready = RwSignal::new(false);
    if let Err(e) = start_worker(ready, out.progress) {
        out.error
            .set(Some(format!("cannot start the worker: {e:?}")));
    }
    let tab = RwSignal::new(Tab::Register);
    let tab_button = move |t: Tab, label: &'static str, id: &'static str| {
        view! {
            <button data-testid=id class:active=move || tab.get() == t
                on:click=move |_| { tab.set(t); out.error.set(None); }>{label}</button>
        }
    };
    view! {
        <header>
            <h1>"cairn · staking registration"</h1>
            <p>"Keys never leave this browser tab. Works offline."</p>
        </header>
        <nav>
            {tab_button(Tab::Register, "From keystore", "tab-register")}
            {tab_button(Tab::Generate, "Generate", "tab-generate")}
            {tab_button(Tab::Verify, "Verify", "tab-verify")}
            {tab_button(Tab::Batches, "Provider batches", "tab-batches")}
        </nav>
        <main data-ready=move || ready.get().to_string()>
            <progress data-testid="progress"
                max=move || out.progress.get().1.max(1)
                value=move || out.progress.get().0
                data-done=move || out.progress.get().0
                data-total=move || out.progress.get().1></progress>
            <Show when=move || out.error.with(Option::is_some)>
                <div class="error" data-testid="error-message">{move || out.error.get().unwrap_or_default()}</div>
            </Show>
            {move || match tab.get() {
                Tab::Register => view! { <RegisterView out=out /> }.into_any(),
                Tab::Generate => view! { <GenerateView out=out /> }.into_any(),
                Tab::Verify => view! { <VerifyView out=out /> }.into_any(),
                Tab::Batches => view! { <BatchesView out=out /> }.into_any(),
            }}
            <Show when=move || out.notes.with(|n| !n.is_empty())>
                <div class="warning">{move || out.notes.get().join("\n")}</div>
            </Show>
        </main>
    }
}

fn main() {
    console_error_panic_hook::set_once();
    // The worker imports this module too; only a page has a document to mount on.
    if web_sys::window().and_then(|w| w.document()).is_some() {
        mount_to_body(App);
    }
}
