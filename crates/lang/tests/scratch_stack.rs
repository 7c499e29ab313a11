use berth_lang::{FileId, Sink};
#[test]
fn measure() {
    let depth: usize = std::env::var("D").unwrap().parse().unwrap();
    let kib: usize = std::env::var("K").unwrap().parse().unwrap();
    let kind = std::env::var("KIND").unwrap();
    std::thread::Builder::new().stack_size(kib << 10).spawn(move || {
        let text = if kind == "b" { format!("{}{}", "a { ".repeat(depth), "} ".repeat(depth)) } else { format!("x = {}{}", "[".repeat(depth), "]".repeat(depth)) };
        let mut sink = Sink::new();
        let f = berth_lang::parser::parse(FileId(0), &text, &mut sink);
        drop(f);
    }).unwrap().join().unwrap();
}
