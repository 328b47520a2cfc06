//! Which route a module belongs to: the first whose GOPRIVATE-style patterns match.

use crate::module::pattern::ModulePatterns;

#[derive(Debug)]
pub struct Route {
    pub name: String,
    pub patterns: ModulePatterns,
    /// Indexes into the snapshot's pools, tried in order (the GOPROXY comma rule).
    pub pools: Vec<usize>,
    /// Modules of a private route never reach a checksum database.
    pub private: bool,
}

#[derive(Debug, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
}

impl RouteTable {
    pub fn new(routes: Vec<Route>) -> RouteTable {
        RouteTable { routes }
    }

    /// The index of the first route matching the unescaped module path.
    pub fn find(&self, module: &str) -> Option<usize> {
        self.routes.iter().position(|r| r.patterns.matches(module))
    }

    pub fn get(&self, index: usize) -> Option<&Route> {
        self.routes.get(index)
    }

    pub fn len(&self) -> usize {
        self.routes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Route> {
        self.routes.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(name: &str, globs: &[&str]) -> Route {
        Route {
            name: name.into(),
            patterns: ModulePatterns::new(globs).expect("patterns"),
            pools: vec![0],
            private: false,
        }
    }

    #[test]
    fn first_matching_route_wins() {
        let table = RouteTable::new(vec![
            route(
                "private",
                &["*.corp.example.com", "github.com/example-corp"],
            ),
            route("public", &["*"]),
        ]);
        assert_eq!(table.find("git.corp.example.com/x/y"), Some(0));
        assert_eq!(table.find("github.com/example-corp/tool"), Some(0));
        assert_eq!(table.find("corp.example.com.evil/x"), Some(1));
        assert_eq!(table.find("golang.org/x/text"), Some(1));
    }

    #[test]
    fn no_route_means_none() {
        let table = RouteTable::new(vec![route("private", &["*.corp.example.com"])]);
        assert_eq!(table.find("golang.org/x/text"), None);
    }
}
