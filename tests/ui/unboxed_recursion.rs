struct Node {
    value: u32,
    children: Vec<Node>,
}

#[coro::coroutine]
fn walk(node: &Node) -> impl Iterator<Item = u32> + '_ {
    yield_!(node.value);
    for child in &node.children {
        yield_from!(walk(child));
    }
}

#[coro::coroutine]
async fn depth(node: &Node) -> u32 {
    let mut deepest = 0;
    for child in &node.children {
        deepest = deepest.max(Box::pin(depth(child)).await);
    }
    deepest + 1
}

fn main() {}
