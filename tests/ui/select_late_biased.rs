fn main() {
    coro::run(async {
        coro::select! {
            v = async { 1 } => v,
            biased;
        }
    });
}
