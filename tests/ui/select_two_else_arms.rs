fn main() {
    coro::run(async {
        coro::select! {
            v = async { 1 } => v,
            else => 0,
            else => 1,
        }
    });
}
