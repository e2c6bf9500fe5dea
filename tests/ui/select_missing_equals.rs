fn main() {
    coro::run(async {
        coro::select! {
            async { 1 } => 2,
        }
    });
}
