fn main() {
    coro::run(async {
        coro::select! {}
    });
}
