//! A small driver for headless Chromium over the DevTools protocol: open a page, collect
//! every error it reports (uncaught exceptions, `console.error`, failed loads), evaluate
//! expressions, and hand a file to a file input the way a user would.
//!
//! Chromium is started with a fresh profile directory and `--remote-debugging-port=0`; the
//! port it picked is read from the line it prints on stderr. The test attaches to one page
//! target (flat sessions) and enables the `Runtime`, `Log` and `Page` domains before it
//! navigates, so nothing the page reports is missed.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tungstenite::{Message, WebSocket};

/// How long any one step may take.
const STEP: Duration = Duration::from_secs(60);

/// A running headless Chromium with one page.
pub struct Browser {
    child: Child,
    socket: WebSocket<TcpStream>,
    session: String,
    next_id: u64,
    dir: PathBuf,
    /// Errors the page reported so far.
    pub errors: Vec<String>,
    loaded: bool,
}

/// Whether Chromium is installed (the test skips otherwise).
pub fn available() -> bool {
    Command::new("chromium")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

impl Browser {
    /// Starts Chromium; `None` (with the reason printed) when it cannot be started.
    pub fn start(name: &str) -> Option<Browser> {
        if !available() {
            eprintln!("SKIPPED: chromium is not installed (apt-get install chromium)");
            return None;
        }
        let dir = std::env::temp_dir().join(format!("gpa-chromium-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the browser's directory");
        let log = std::fs::File::create(dir.join("stderr")).expect("create the log");
        let child = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--allow-file-access-from-files",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", dir.join("profile").display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start chromium");
        let mut browser_url = None;
        let started = Instant::now();
        while browser_url.is_none() && started.elapsed() < STEP {
            std::thread::sleep(Duration::from_millis(100));
            let mut text = String::new();
            if let Ok(mut file) = std::fs::File::open(dir.join("stderr")) {
                let _ = file.read_to_string(&mut text);
            }
            browser_url = text
                .lines()
                .find_map(|line| line.strip_prefix("DevTools listening on "))
                .map(str::to_owned);
        }
        let Some(url) = browser_url else {
            panic!("chromium printed no DevTools address in {STEP:?}");
        };
        let address = url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .expect("host:port")
            .to_owned();
        let stream = TcpStream::connect(&address).expect("connect to chromium");
        stream.set_read_timeout(Some(STEP)).expect("read timeout");
        let (socket, _) = tungstenite::client(url.as_str(), stream).expect("WebSocket handshake");
        let mut browser = Browser {
            child,
            socket,
            session: String::new(),
            next_id: 0,
            dir,
            errors: Vec::new(),
            loaded: false,
        };
        let target = browser.call(None, "Target.createTarget", json!({"url": "about:blank"}));
        let target = target["targetId"].as_str().expect("targetId").to_owned();
        let attached = browser.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target, "flatten": true}),
        );
        browser.session = attached["sessionId"]
            .as_str()
            .expect("sessionId")
            .to_owned();
        for domain in ["Runtime.enable", "Log.enable", "Page.enable", "DOM.enable"] {
            browser.page(domain, json!({}));
        }
        Some(browser)
    }

    /// Sends a command (to the page's session, or to the browser) and returns its result,
    /// recording the events that arrive meanwhile.
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = session.into();
        }
        self.socket
            .send(Message::text(message.to_string()))
            .expect("send a DevTools command");
        loop {
            let reply = self.receive();
            if reply["id"].as_u64() == Some(id) {
                if let Some(error) = reply.get("error") {
                    panic!("{method}: {error}");
                }
                return reply["result"].clone();
            }
        }
    }

    fn page(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.call(Some(&session), method, params)
    }

    /// Reads one message; events are recorded.
    fn receive(&mut self) -> Value {
        let message = self.socket.read().expect("read from chromium");
        let text = match message {
            Message::Text(text) => text.to_string(),
            Message::Binary(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            _ => return Value::Null,
        };
        let value: Value = serde_json::from_str(&text).expect("DevTools JSON");
        self.note_event(&value);
        value
    }

    fn note_event(&mut self, event: &Value) {
        let params = &event["params"];
        match event["method"].as_str() {
            Some("Runtime.exceptionThrown") => {
                let details = &params["exceptionDetails"];
                let text = details["exception"]["description"]
                    .as_str()
                    .or(details["text"].as_str())
                    .unwrap_or("exception");
                self.errors.push(format!("exception: {text}"));
            }
            Some("Runtime.consoleAPICalled") => {
                let kind = params["type"].as_str().unwrap_or("");
                if kind == "error" || kind == "assert" {
                    self.errors
                        .push(format!("console.{kind}: {}", params["args"]));
                }
            }
            Some("Log.entryAdded") if params["entry"]["level"] == "error" => {
                let text = params["entry"]["text"].as_str().unwrap_or("");
                self.errors.push(format!("log: {text}"));
            }
            Some("Page.loadEventFired") => self.loaded = true,
            _ => {}
        }
    }

    /// Opens `path` (a local file) and waits for its load event.
    pub fn open(&mut self, path: &Path) {
        self.loaded = false;
        let url = format!(
            "file://{}",
            path.canonicalize().expect("page path").display()
        );
        self.page("Page.navigate", json!({"url": url}));
        let started = Instant::now();
        while !self.loaded {
            assert!(started.elapsed() < STEP, "{url} did not load in {STEP:?}");
            self.receive();
        }
    }

    /// Evaluates `expression` in the page and returns its value (promises are awaited).
    pub fn eval(&mut self, expression: &str) -> Value {
        let result = self.page(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(details) = result.get("exceptionDetails") {
            panic!("evaluating {expression}: {details}");
        }
        result["result"]["value"].clone()
    }

    /// Evaluates `expression` until it is true (or the step's time runs out).
    pub fn wait_until(&mut self, expression: &str) {
        let started = Instant::now();
        while self.eval(expression) != Value::Bool(true) {
            assert!(
                started.elapsed() < STEP,
                "{expression} never became true; errors: {:?}",
                self.errors
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Gives `file` to the first element matching `selector` (an `<input type=file>`), as a
    /// user's choice would: Chromium fires its `input` and `change` events.
    pub fn choose_file(&mut self, selector: &str, file: &Path) {
        let found = self.page(
            "Runtime.evaluate",
            json!({"expression": format!("document.querySelector({})", json!(selector))}),
        );
        let object = found["result"]["objectId"]
            .as_str()
            .unwrap_or_else(|| panic!("no element {selector}"))
            .to_owned();
        let file = file.canonicalize().expect("file to choose");
        self.page(
            "DOM.setFileInputFiles",
            json!({"files": [file.display().to_string()], "objectId": object}),
        );
    }

    /// Saves a screenshot of the whole page as PNG.
    pub fn screenshot(&mut self, path: &Path) {
        let shot = self.page(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true}),
        );
        let data = shot["data"].as_str().expect("screenshot data");
        std::fs::write(path, decode_base64(data)).expect("write the screenshot");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.socket.close(None);
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut bits = 0u32;
    let mut count = 0;
    for c in text.bytes().filter_map(value) {
        bits = (bits << 6) | c;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}
