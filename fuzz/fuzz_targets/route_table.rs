//! The route table's prefix index: for any routes (one glob list per input line) and
//! any module path (the last line), `RouteTable::find` picks the first route, in file
//! order, whose patterns match: the same answer as trying every route in turn.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modgate::module::ModulePatterns;
use modgate::route::{Route, RouteTable};

fuzz_target!(|text: &str| {
    let mut lines: Vec<&str> = text.split('\n').collect();
    let module = lines.pop().unwrap_or_default();
    let mut routes = Vec::new();
    for (i, line) in lines.iter().take(32).enumerate() {
        // Routes may list several entries: split at ';' into separate entries.
        let entries: Vec<&str> = line.split(';').collect();
        let Ok(patterns) = ModulePatterns::new(&entries) else {
            continue;
        };
        routes.push(Route {
            name: format!("r{i}"),
            patterns,
            pools: vec![0],
            private: false,
        });
    }
    let want = routes.iter().position(|r| r.patterns.matches(module));
    let table = RouteTable::new(routes);
    assert_eq!(table.find(module), want, "{module:?} in {lines:?}");
    // Every path prefix of the module too: the index walk stops at different depths.
    for (cut, _) in module.match_indices('/') {
        let prefix = &module[..cut];
        let want = table.iter().position(|r| r.patterns.matches(prefix));
        assert_eq!(table.find(prefix), want, "{prefix:?} in {lines:?}");
    }
});
