fn main() {
    coro::run(async {
        coro::select! {
            v = async { 1 } => v + 1
            w = async { 2 } => w,
        }
    });
}
