//! A callback-based API turned into a suspension point with `suspend_with`, as
//! Kotlin's `suspendCoroutine` does: the caller writes straight-line code, and the
//! callback (here, from a worker thread) resumes it.
//!
//! `cargo run --release --example callback_bridge`

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

type Callback = Box<dyn FnOnce(Result<String, String>) + Send>;

/// A legacy client: every request takes a callback, called later on its own thread.
struct LegacyClient {
    requests: mpsc::Sender<(String, Callback)>,
}

impl LegacyClient {
    fn start() -> LegacyClient {
        let (requests, incoming) =
            mpsc::channel::<(String, Box<dyn FnOnce(Result<String, String>) + Send>)>();
        thread::spawn(move || {
            for (path, callback) in incoming {
                thread::sleep(Duration::from_millis(5));
                let reply = match path.as_str() {
                    "/missing" => Err(format!("404 for {path}")),
                    _ => Ok(format!("contents of {path}")),
                };
                callback(reply);
            }
        });
        LegacyClient { requests }
    }

    fn get(&self, path: &str, callback: impl FnOnce(Result<String, String>) + Send + 'static) {
        self.requests
            .send((path.to_string(), Box::new(callback)))
            .expect("the client thread is running");
    }
}

/// The bridge: one suspension point per request.
async fn get(client: &LegacyClient, path: &str) -> Result<String, String> {
    coro::suspend_with(|cont| client.get(path, move |reply| cont.resume(reply))).await
}

#[coro::coroutine]
async fn fetch_all<'a>(client: &'a LegacyClient, paths: &'a [&'a str]) -> Vec<String> {
    let mut pages = Vec::new();
    for path in paths {
        match get(client, path).await {
            Ok(page) => pages.push(page),
            Err(error) => pages.push(format!("error: {error}")),
        }
    }
    pages
}

fn main() {
    let client = LegacyClient::start();
    let paths = ["/index.html", "/missing", "/about.html"];
    let pages = coro::run(fetch_all(&client, &paths));
    for page in &pages {
        println!("{page}");
    }
    let concurrent = coro::run(coro::scope(async |s| {
        let handles: Vec<_> = paths
            .iter()
            .map(|path| s.spawn(get(&client, path)))
            .collect();
        let mut ok = 0;
        for handle in handles {
            ok += handle.await.unwrap().is_ok() as usize;
        }
        ok
    }));
    println!(
        "{concurrent} of {} concurrent requests succeeded",
        paths.len()
    );
}
