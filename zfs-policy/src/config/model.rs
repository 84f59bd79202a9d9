//! The parsed file: dataset sections and templates with their structural keys and settings.

use std::collections::BTreeMap;

use super::error::ConfigWarning;
use super::settings::{Policy, Settings};
use super::values::Recursive;

/// Keys that shape the dataset tree; they are never inherited by children.
pub const STRUCTURE_KEYS: &[&str] = &[
    "path",
    "use_template",
    "recursive",
    "process_children_only",
    "skip_children",
];

/// The structural keys of a section (or template), `None` where absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Structure {
    /// `recursive`.
    pub recursive: Option<Recursive>,
    /// `process_children_only`.
    pub process_children_only: Option<bool>,
    /// `skip_children`.
    pub skip_children: Option<bool>,
}

impl Structure {
    pub(crate) fn overlay(&mut self, other: &Structure) {
        if other.recursive.is_some() {
            self.recursive = other.recursive;
        }
        if other.process_children_only.is_some() {
            self.process_children_only = other.process_children_only;
        }
        if other.skip_children.is_some() {
            self.skip_children = other.skip_children;
        }
    }
}

/// A template name in a `use_template` list, with its position for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateRef {
    /// Template name (without `template_`).
    pub name: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// One `[section]`: a dataset section or a template.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// The name between the brackets (for templates without the `template_` prefix).
    pub name: String,
    /// Line of the header.
    pub line: usize,
    /// The dataset (`path`, or the section name). Empty for templates.
    pub path: String,
    /// `use_template`, in order.
    pub use_template: Vec<TemplateRef>,
    /// Structural keys.
    pub structure: Structure,
    /// All other keys.
    pub settings: Settings,
}

/// A parsed config file.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The label used in messages (normally the file name).
    pub label: String,
    /// Dataset sections in file order.
    pub datasets: Vec<Section>,
    /// Templates by name (without the `template_` prefix), including a user `default`.
    pub templates: BTreeMap<String, Section>,
    /// `[version] version = N`, when present.
    pub version: Option<u32>,
    /// Non-fatal remarks.
    pub warnings: Vec<ConfigWarning>,
}

impl Config {
    /// sanoid's defaults overlaid with a user `[template_default]`: the starting point of every dataset
    /// section that does not inherit from a recursive parent.
    pub fn base_policy(&self) -> Policy {
        let mut policy = Policy::default();
        if let Some(t) = self.templates.get("default") {
            t.settings.apply_to(&mut policy);
        }
        policy
    }

    /// The datasets named by sections, in file order. A caller lists these recursively
    /// (`zfs list -r -t filesystem,volume`) and passes the result to [`Config::resolve`].
    pub fn dataset_paths(&self) -> impl Iterator<Item = &str> {
        self.datasets.iter().map(|s| s.path.as_str())
    }

    /// The dataset section for `path`, if any.
    pub fn section_for(&self, path: &str) -> Option<&Section> {
        self.datasets.iter().find(|s| s.path == path)
    }
}
