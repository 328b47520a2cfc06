//! Where each node of the YAML file stands, so that errors found after parsing
//! (an unknown pool, a bad CIDR) can still name the line and column to change.
//!
//! serde_yaml keeps no spans, so the file is walked once more with yaml-rust2's
//! event parser and every node is recorded under a path such as
//! `pools.public.backends[1].url`.

use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// Line and column, both counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Default)]
pub struct Locations {
    nodes: HashMap<String, Position>,
}

impl Locations {
    pub fn index(text: &str) -> Locations {
        let mut walker = Walker::default();
        // A file that does not parse is reported by serde_yaml with its own position;
        // whatever was indexed before the fault is still useful.
        let _ = Parser::new_from_str(text).load(&mut walker, false);
        Locations {
            nodes: walker.nodes,
        }
    }

    /// The position of `path`, or of its nearest indexed ancestor (a missing field is
    /// reported where its parent stands).
    pub fn find(&self, path: &str) -> Position {
        let mut path = path;
        loop {
            if let Some(position) = self.nodes.get(path) {
                return *position;
            }
            match path.rfind(['.', '[']) {
                Some(cut) => path = &path[..cut],
                None => {
                    return self
                        .nodes
                        .get("")
                        .copied()
                        .unwrap_or(Position { line: 1, column: 1 })
                }
            }
        }
    }
}

/// The index, built on first use: a file without errors never needs it, and
/// building it is a full second parse of the file.
pub struct Lazy<'a> {
    text: &'a str,
    built: std::sync::OnceLock<Locations>,
}

impl<'a> Lazy<'a> {
    pub fn new(text: &'a str) -> Lazy<'a> {
        Lazy {
            text,
            built: std::sync::OnceLock::new(),
        }
    }

    pub fn find(&self, path: &str) -> Position {
        self.built
            .get_or_init(|| Locations::index(self.text))
            .find(path)
    }
}

enum Frame {
    Map { path: String, key: Option<String> },
    Seq { path: String, next: usize },
}

#[derive(Default)]
struct Walker {
    stack: Vec<Frame>,
    nodes: HashMap<String, Position>,
}

impl Walker {
    /// The path of the node that starts with this event, or `None` for a mapping key.
    fn node_path(&mut self, key_text: Option<&str>) -> Option<String> {
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Seq { path, next }) => {
                let node = format!("{path}[{next}]");
                *next += 1;
                Some(node)
            }
            Some(Frame::Map { path, key }) => match key.take() {
                Some(key) if path.is_empty() => Some(key),
                Some(key) => Some(format!("{path}.{key}")),
                None => {
                    *key = Some(key_text.unwrap_or("?").to_string());
                    None
                }
            },
        }
    }
}

impl MarkedEventReceiver for Walker {
    fn on_event(&mut self, event: Event, mark: Marker) {
        let position = Position {
            line: mark.line(),
            column: mark.col() + 1,
        };
        match event {
            Event::Scalar(ref text, ..) => {
                if let Some(path) = self.node_path(Some(text)) {
                    self.nodes.insert(path, position);
                }
            }
            Event::Alias(_) => {
                if let Some(path) = self.node_path(None) {
                    self.nodes.insert(path, position);
                }
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                let path = self.node_path(None).unwrap_or_default();
                self.nodes.insert(path.clone(), position);
                self.stack.push(match event {
                    Event::SequenceStart(..) => Frame::Seq { path, next: 0 },
                    _ => Frame::Map { path, key: None },
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "listeners:\n  - address: \"127.0.0.1:1\"\npools:\n  public:\n    backends:\n      - url: http://a\n      - url: http://b\n";

    #[test]
    fn nodes_are_found_by_path() {
        let at = Locations::index(TEXT);
        assert_eq!(
            at.find("listeners[0].address"),
            Position {
                line: 2,
                column: 14
            }
        );
        assert_eq!(
            at.find("pools.public.backends[1].url"),
            Position {
                line: 7,
                column: 14
            }
        );
    }

    #[test]
    fn a_missing_node_is_reported_at_its_parent() {
        let at = Locations::index(TEXT);
        assert_eq!(
            at.find("pools.public.health_check.path"),
            at.find("pools.public")
        );
    }
}
