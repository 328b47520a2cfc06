//! Which route a module belongs to: the first whose GOPRIVATE-style patterns match.

use crate::module::pattern::{path_match, Element, ModulePatterns};
use std::collections::HashMap;

#[derive(Debug)]
pub struct Route {
    pub name: String,
    pub patterns: ModulePatterns,
    /// Indexes into the snapshot's pools, tried in order (the GOPROXY comma rule).
    pub pools: Vec<usize>,
    /// Modules of a private route never reach a checksum database.
    pub private: bool,
    /// Whether its artifacts are stored and served from the store.
    pub cache: bool,
}

/// Routes in file order, indexed by the path elements of their patterns, so a lookup
/// tests only the routes that could match: with a thousand routes under
/// `github.com/...`, a module tests the few whose elements it shares. Literal elements
/// are looked up; elements with `*` or `?` are edges of their own, shared by every
/// pattern that has the same element there (a thousand `github.com/*/team-N` routes
/// share one `*` edge); past eight at a node they are also filed under the literal text
/// before their first and after their last wildcard, so a thousand `team-N-*` or
/// `*.team-N.example.com` edges cost a few lookups rather than a thousand glob tests. Built only by `new`, which always
/// makes the root node `find` starts from.
#[derive(Debug)]
pub struct RouteTable {
    routes: Vec<Route>,
    index: Vec<Node>,
}

/// One path element of the index; the root is `index[0]`.
#[derive(Debug, Default)]
struct Node {
    literal: HashMap<String, usize>,
    wild: WildEdges,
    /// Routes with a pattern whose indexed elements end here, in file order.
    routes: Vec<usize>,
    /// The first route in file order found here or below; lets a lookup skip a
    /// subtree that cannot beat the match it already has.
    first: usize,
    parent: usize,
}

impl RouteTable {
    pub fn new(routes: Vec<Route>) -> RouteTable {
        let mut index = vec![Node {
            first: usize::MAX,
            ..Node::default()
        }];
        for (route_index, route) in routes.iter().enumerate() {
            for path in route.patterns.index_paths() {
                let mut at = 0;
                for element in path {
                    at = child(&mut index, at, element);
                }
                let bucket = &mut index[at].routes;
                if bucket.last() != Some(&route_index) {
                    bucket.push(route_index);
                }
                // Routes come in file order, so a node's first is the first to reach it.
                let mut up = at;
                while index[up].first == usize::MAX {
                    index[up].first = route_index;
                    if up == 0 {
                        break;
                    }
                    up = index[up].parent;
                }
            }
        }
        RouteTable { routes, index }
    }

    /// The index of the first route matching the unescaped module path.
    pub fn find(&self, module: &str) -> Option<usize> {
        let mut best = None;
        self.visit(0, Some(module), module, &mut best);
        best
    }

    /// Tests the routes at node `at`, then follows the module's next element down
    /// every edge it matches. The recursion is as deep as the longest pattern.
    fn visit(&self, at: usize, rest: Option<&str>, module: &str, best: &mut Option<usize>) {
        let node = &self.index[at];
        if best.is_some_and(|b| node.first >= b) {
            return;
        }
        // The bucket is in file order: its first match is its best candidate.
        for &route in &node.routes {
            if best.is_some_and(|b| route >= b) {
                break;
            }
            if self.routes[route].patterns.matches(module) {
                *best = Some(route);
                break;
            }
        }
        let Some(rest) = rest else { return };
        let (element, rest) = match rest.split_once('/') {
            Some((element, rest)) => (element, Some(rest)),
            None => (rest, None),
        };
        if let Some(&next) = node.literal.get(element) {
            self.visit(next, rest, module, best);
        }
        node.wild.candidates(element, |glob, next| {
            if path_match(glob, element).unwrap_or(false) {
                self.visit(next, rest, module, best);
            }
        });
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

/// The child of node `at` for `element`, made if it is new.
fn child(index: &mut Vec<Node>, at: usize, element: Element<'_>) -> usize {
    let found = match element {
        Element::Literal(text) => index[at].literal.get(text).copied(),
        Element::Wild(glob) => index[at].wild.get(glob),
    };
    if let Some(next) = found {
        return next;
    }
    index.push(Node {
        first: usize::MAX,
        parent: at,
        ..Node::default()
    });
    let next = index.len() - 1;
    match element {
        Element::Literal(text) => {
            index[at].literal.insert(text.to_string(), next);
        }
        Element::Wild(glob) => index[at].wild.insert(glob, next),
    }
    next
}

/// A node's wildcard edges. A node with a few tests them all; past that they are also
/// filed by the literal text around their wildcards, since an element can only match a
/// glob that it starts and ends like.
#[derive(Debug, Default)]
struct WildEdges {
    /// Every edge, in the order added.
    all: Vec<(String, usize)>,
    /// Made once there are more than `FEW` edges; boxed so that nodes without it stay
    /// small.
    filed: Option<Box<Filed>>,
}

#[derive(Debug, Default)]
struct Filed {
    by_prefix: HashMap<String, BySuffix>,
    /// The distinct prefix lengths, so a lookup tries only those.
    prefix_lengths: Vec<usize>,
}

#[derive(Debug, Default)]
struct BySuffix {
    edges: HashMap<String, Vec<(String, usize)>>,
    suffix_lengths: Vec<usize>,
}

impl WildEdges {
    /// Under cargo fuzz every node files its edges, so the fuzzer's few routes reach
    /// the filing.
    const FEW: usize = if cfg!(fuzzing) { 0 } else { 8 };

    fn get(&self, glob: &str) -> Option<usize> {
        let same = match &self.filed {
            Some(filed) => {
                let (prefix, suffix) = literal_ends(glob);
                filed.by_prefix.get(prefix)?.edges.get(suffix)?
            }
            None => &self.all,
        };
        same.iter()
            .find(|(known, _)| known == glob)
            .map(|&(_, next)| next)
    }

    fn insert(&mut self, glob: &str, next: usize) {
        self.all.push((glob.to_string(), next));
        if let Some(filed) = &mut self.filed {
            filed.insert(glob, next);
        } else if self.all.len() > Self::FEW {
            let mut filed = Filed::default();
            for (glob, next) in &self.all {
                filed.insert(glob, *next);
            }
            self.filed = Some(Box::new(filed));
        }
    }

    /// Calls `follow` with every edge whose glob `element` could match; each still
    /// needs its glob tested.
    fn candidates(&self, element: &str, mut follow: impl FnMut(&str, usize)) {
        let Some(filed) = &self.filed else {
            for (glob, next) in &self.all {
                follow(glob, *next);
            }
            return;
        };
        for &p in &filed.prefix_lengths {
            let Some(by_suffix) = element
                .get(..p)
                .and_then(|prefix| filed.by_prefix.get(prefix))
            else {
                continue;
            };
            for &s in &by_suffix.suffix_lengths {
                // The literal ends of a glob never overlap in what it matches.
                let start = element.len().checked_sub(s).filter(|&start| start >= p);
                let Some(edges) = start
                    .and_then(|start| element.get(start..))
                    .and_then(|suffix| by_suffix.edges.get(suffix))
                else {
                    continue;
                };
                for (glob, next) in edges {
                    follow(glob, *next);
                }
            }
        }
    }
}

impl Filed {
    fn insert(&mut self, glob: &str, next: usize) {
        let (prefix, suffix) = literal_ends(glob);
        insert_length(&mut self.prefix_lengths, prefix.len());
        let by_suffix = self.by_prefix.entry(prefix.to_string()).or_default();
        insert_length(&mut by_suffix.suffix_lengths, suffix.len());
        let edges = by_suffix.edges.entry(suffix.to_string()).or_default();
        edges.push((glob.to_string(), next));
    }
}

/// The literal text of an element glob before its first and after its last `*` or
/// `?` (indexed elements have no `[` or `\`).
fn literal_ends(glob: &str) -> (&str, &str) {
    let first = glob.find(['*', '?']).unwrap_or(glob.len());
    let last = glob.rfind(['*', '?']).map_or(glob.len(), |i| i + 1);
    (&glob[..first], &glob[last.max(first)..])
}

fn insert_length(lengths: &mut Vec<usize>, length: usize) {
    if let Err(at) = lengths.binary_search(&length) {
        lengths.insert(at, length);
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
            cache: false,
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
    fn the_index_keeps_file_order_across_plain_and_wildcard_routes() {
        let table = RouteTable::new(vec![
            route("a", &["example.com/special"]),
            route("b", &["*.com"]),
            route("c", &["example.com"]),
            route("d", &["*"]),
            route("e", &["golang.org/x"]),
        ]);
        assert_eq!(table.find("example.com/special/x"), Some(0));
        assert_eq!(table.find("example.com/other"), Some(1));
        assert_eq!(table.find("example.org/y"), Some(3));
        assert_eq!(table.find("golang.org/x/text"), Some(3));
        let table = RouteTable::new(vec![
            route("e", &["golang.org/x", "rsc.io"]),
            route("d", &["*"]),
        ]);
        assert_eq!(table.find("rsc.io/quote"), Some(0));
        assert_eq!(table.find("golang.org/y"), Some(1));
    }

    /// The index must never change an answer: compare with a plain scan, over every
    /// suffix of the table so the catch-all is not always what answers.
    #[test]
    fn the_index_agrees_with_a_linear_scan() {
        let globs: [&[&str]; 16] = [
            &["example.com"],
            &["github.com/team-*-x", "ab?ba.org"],
            &["github.com/team-*"],
            &["x*y*z/*.a"],
            &["*.b.example.com", "github.com/t*m-1", "é*é.org"],
            &["github.com/*/team-1"],
            &["*/x/*", "github.com/?/team-2"],
            &["github.com/*/team-*"],
            &["*.example.com"],
            &["example.com/a/*"],
            &["github.com/x", "gitlab.com"],
            &["g?thub.com"],
            &["github.com/[a-c]*"],
            &["rsc.io/quote"],
            &["rsc.io/"],
            &["*"],
        ];
        let modules = [
            "example.com",
            "example.com/a/b",
            "x.example.com/y",
            "github.com/x/y",
            "github.com/b/c",
            "github.com/q/team-1",
            "github.com/q/team-2/sub",
            "github.com/qq/team-2",
            "github.com/x/team-9",
            "a/x/b",
            "gitlab.com/q",
            "gothub.com/z",
            "rsc.io/quote/v3",
            "rsc.io/sampler",
            "other.org/p",
            "github.com/team-1-x",
            "github.com/team-x",
            "github.com/team-",
            "github.com/tm-1",
            "aba.org",
            "abzba.org",
            "xyz/q.a",
            "xz/q.a",
            "xyyz/.a",
            "a.b.example.com",
            "b.example.com",
            "é.org",
            "éé.org",
            "éxé.org",
        ];
        // Enough wildcard elements at the root and under `github.com` that the index
        // files them by their literal ends instead of testing each.
        let padding: Vec<[String; 2]> = (0..WildEdges::FEW)
            .map(|i| [format!("*.pad-{i}.org"), format!("github.com/pad-{i}-*")])
            .collect();
        for (skip, with_padding) in (0..globs.len()).flat_map(|s| [(s, false), (s, true)]) {
            let make = || -> Vec<Route> {
                let mut routes: Vec<Route> = globs[skip..].iter().map(|g| route("r", g)).collect();
                if with_padding {
                    routes.extend(padding.iter().map(|[a, b]| route("pad", &[a, b])));
                }
                routes
            };
            let (table, scan) = (RouteTable::new(make()), make());
            for module in modules {
                let linear = scan.iter().position(|r| r.patterns.matches(module));
                assert_eq!(
                    table.find(module),
                    linear,
                    "{module} from {skip}, {with_padding}"
                );
            }
        }
    }

    #[test]
    fn no_route_means_none() {
        let table = RouteTable::new(vec![route("private", &["*.corp.example.com"])]);
        assert_eq!(table.find("golang.org/x/text"), None);
    }
}
