fn main() {
    let path = std::env::args().nth(1).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let file = ledgerlink::source::SourceFile::new(path, text);
    let (ast, diags) = ledgerlink::syntax::parse(&file);
    println!("items: {}", ast.items.len());
    print!(
        "{}",
        ledgerlink::diagnostic::render_human(&diags, false, 100)
    );
    if std::env::args().nth(2).is_some() {
        println!("{}", serde_json::to_string(&ast).unwrap());
    }
}
