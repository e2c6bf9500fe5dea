fn main() {
    let v = coro::select! {
        v = async { 1 } => v,
    };
    let _ = v;
}
