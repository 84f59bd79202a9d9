//! The file parser: a state machine over the lexed lines that builds a [`Config`], checks sections,
//! paths and templates, and reports errors and warnings with their positions.

use std::collections::{BTreeMap, BTreeSet};

use super::error::{ConfigError, ConfigErrorKind, ConfigWarning};
use super::lexer::{parse_line, strip_inline_comment, Line};
use super::model::{Config, Section, Structure, TemplateRef, STRUCTURE_KEYS};
use super::settings::{Settings, SETTING_KEYS};
use super::values::{boolean, check_dataset_name, count, recursive};

impl Config {
    /// Parses config `text`; `label` names the file in errors and warnings.
    pub fn parse(text: &str, label: &str) -> Result<Config, ConfigError> {
        FileParser::new(label).run(text)
    }

    /// Parses raw bytes (which must be UTF-8).
    pub fn parse_bytes(bytes: &[u8], label: &str) -> Result<Config, ConfigError> {
        match std::str::from_utf8(bytes) {
            Ok(text) => Config::parse(text, label),
            Err(e) => {
                let good = &bytes[..e.valid_up_to()];
                let line = good.iter().filter(|b| **b == b'\n').count() + 1;
                let line_start = good.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
                let column = String::from_utf8_lossy(&good[line_start..]).chars().count() + 1;
                Err(ConfigError {
                    label: label.to_string(),
                    line,
                    column,
                    kind: Box::new(ConfigErrorKind::InvalidUtf8),
                })
            }
        }
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn suggestion(key: &str) -> String {
    SETTING_KEYS
        .iter()
        .chain(STRUCTURE_KEYS)
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| format!(" (did you mean '{k}'?)"))
        .unwrap_or_default()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dataset,
    Template,
    Version,
}

struct Current {
    kind: Kind,
    header: String,
    section: Section,
    path: Option<(String, usize, usize)>,
    seen: BTreeSet<String>,
}

struct FileParser {
    label: String,
    datasets: Vec<Section>,
    templates: BTreeMap<String, Section>,
    version: Option<u32>,
    warnings: Vec<ConfigWarning>,
    headers: BTreeMap<String, usize>,
    current: Option<Current>,
}

fn char_col(line: &str, byte_offset: usize) -> usize {
    line.get(..byte_offset)
        .map_or(byte_offset, |s| s.chars().count())
        + 1
}

impl FileParser {
    fn new(label: &str) -> Self {
        FileParser {
            label: label.to_string(),
            datasets: Vec::new(),
            templates: BTreeMap::new(),
            version: None,
            warnings: Vec::new(),
            headers: BTreeMap::new(),
            current: None,
        }
    }

    fn err(&self, line: usize, column: usize, kind: ConfigErrorKind) -> ConfigError {
        ConfigError {
            label: self.label.clone(),
            line,
            column,
            kind: Box::new(kind),
        }
    }

    fn warn(&mut self, line: usize, column: usize, message: String) {
        self.warnings.push(ConfigWarning {
            label: self.label.clone(),
            line,
            column,
            message,
        });
    }

    fn run(mut self, text: &str) -> Result<Config, ConfigError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (idx, raw) in text.split('\n').enumerate() {
            let lineno = idx + 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            match parse_line(line) {
                Err((off, msg)) => {
                    return Err(self.err(lineno, char_col(line, off), ConfigErrorKind::Syntax(msg)))
                }
                Ok(Line::Blank) => {}
                Ok(Line::Header { name, offset }) => {
                    self.finish_section()?;
                    let col = char_col(line, offset);
                    if let Some(first) = self.headers.get(name) {
                        return Err(self.err(
                            lineno,
                            col,
                            ConfigErrorKind::DuplicateSection {
                                section: name.to_string(),
                                first_line: *first,
                            },
                        ));
                    }
                    self.headers.insert(name.to_string(), lineno);
                    let (kind, short) = if name == "version" {
                        (Kind::Version, name)
                    } else if let Some(t) = name.strip_prefix("template_") {
                        (Kind::Template, t)
                    } else {
                        (Kind::Dataset, name)
                    };
                    self.current = Some(Current {
                        kind,
                        header: name.to_string(),
                        section: Section {
                            name: short.to_string(),
                            line: lineno,
                            path: String::new(),
                            use_template: Vec::new(),
                            structure: Structure::default(),
                            settings: Settings::default(),
                        },
                        path: None,
                        seen: BTreeSet::new(),
                    });
                }
                Ok(Line::Entry {
                    key,
                    key_offset,
                    value,
                    value_offset,
                }) => {
                    self.entry(
                        lineno,
                        line,
                        key,
                        char_col(line, key_offset),
                        value,
                        value_offset,
                    )?;
                }
            }
        }
        self.finish_section()?;
        self.check_templates()?;
        Ok(Config {
            label: self.label,
            datasets: self.datasets,
            templates: self.templates,
            version: self.version,
            warnings: self.warnings,
        })
    }

    fn entry(
        &mut self,
        lineno: usize,
        line: &str,
        key: &str,
        key_col: usize,
        value: &str,
        value_offset: usize,
    ) -> Result<(), ConfigError> {
        let Some(cur) = self.current.as_mut() else {
            return Err(self.err(
                lineno,
                key_col,
                ConfigErrorKind::KeyOutsideSection(key.to_string()),
            ));
        };
        let header = cur.header.clone();
        let kind = cur.kind;
        let bad_value = |reason: String, offset: usize| ConfigError {
            label: self.label.clone(),
            line: lineno,
            column: char_col(line, value_offset + offset),
            kind: Box::new(ConfigErrorKind::BadValue {
                key: key.to_string(),
                value: value.to_string(),
                section: header.clone(),
                reason,
            }),
        };
        let unknown = || ConfigError {
            label: self.label.clone(),
            line: lineno,
            column: key_col,
            kind: Box::new(ConfigErrorKind::UnknownKey {
                key: key.to_string(),
                section: header.clone(),
                hint: if kind == Kind::Version {
                    String::new()
                } else {
                    suggestion(key)
                },
            }),
        };
        if kind == Kind::Version {
            if key != "version" {
                return Err(unknown());
            }
            let v =
                count(strip_inline_comment(value)).map_err(|e| bad_value(e.reason, e.offset))?;
            if self.version.is_none() {
                self.version = Some(v);
            }
            return Ok(());
        }
        let first = cur.seen.insert(key.to_string());
        let mut ignored_in_template = false;
        match key {
            "path" => {
                if kind == Kind::Template {
                    ignored_in_template = true;
                } else if first {
                    cur.path = Some((value.to_string(), lineno, char_col(line, value_offset)));
                }
            }
            "use_template" => {
                if kind == Kind::Template {
                    ignored_in_template = true;
                } else if first {
                    let value = strip_inline_comment(value);
                    let mut offset = 0;
                    for part in value.split(',') {
                        let name = part.trim();
                        let lead = part.len() - part.trim_start().len();
                        if !name.is_empty() {
                            cur.section.use_template.push(TemplateRef {
                                name: name.strip_prefix("template_").unwrap_or(name).to_string(),
                                line: lineno,
                                column: char_col(line, value_offset + offset + lead),
                            });
                        }
                        offset += part.len() + 1;
                    }
                }
            }
            "recursive" => {
                if kind == Kind::Template {
                    ignored_in_template = true;
                } else {
                    let r = recursive(strip_inline_comment(value))
                        .map_err(|e| bad_value(e.reason, e.offset))?;
                    if first {
                        cur.section.structure.recursive = Some(r);
                    }
                }
            }
            "process_children_only" | "skip_children" => {
                let b = boolean(strip_inline_comment(value))
                    .map_err(|e| bad_value(e.reason, e.offset))?;
                if first {
                    if key == "skip_children" {
                        cur.section.structure.skip_children = Some(b);
                    } else {
                        cur.section.structure.process_children_only = Some(b);
                    }
                }
            }
            _ => match cur.section.settings.set(key, value) {
                None => return Err(unknown()),
                Some(Err(e)) => return Err(bad_value(e.reason, e.offset)),
                Some(Ok(_)) => {}
            },
        }
        if ignored_in_template {
            let msg = format!("'{key}' has no effect in template [{header}] and is ignored");
            self.warn(lineno, key_col, msg);
        } else if !first {
            let msg =
                format!("duplicate key '{key}' in section [{header}]; the first value is used");
            self.warn(lineno, key_col, msg);
        }
        Ok(())
    }

    fn finish_section(&mut self) -> Result<(), ConfigError> {
        let Some(cur) = self.current.take() else {
            return Ok(());
        };
        match cur.kind {
            Kind::Version => {}
            Kind::Template => {
                self.templates.insert(cur.section.name.clone(), cur.section);
            }
            Kind::Dataset => {
                let mut section = cur.section;
                let (path, line, col) = match cur.path {
                    Some((p, l, c)) if !p.is_empty() => (p, l, c),
                    _ => (section.name.clone(), section.line, 2),
                };
                if let Err(reason) = check_dataset_name(&path) {
                    return Err(self.err(
                        line,
                        col,
                        ConfigErrorKind::BadDatasetName {
                            path,
                            section: cur.header,
                            reason,
                        },
                    ));
                }
                if let Some(other) = self.datasets.iter().find(|s| s.path == path) {
                    return Err(self.err(
                        line,
                        col,
                        ConfigErrorKind::DuplicateDataset {
                            path,
                            first: other.name.clone(),
                            second: section.name,
                        },
                    ));
                }
                section.path = path;
                self.datasets.push(section);
            }
        }
        Ok(())
    }

    fn check_templates(&self) -> Result<(), ConfigError> {
        for section in &self.datasets {
            for t in &section.use_template {
                if !self.templates.contains_key(&t.name) {
                    return Err(self.err(
                        t.line,
                        t.column,
                        ConfigErrorKind::UnknownTemplate {
                            template: t.name.clone(),
                            section: section.name.clone(),
                        },
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Config::parse(text, "sanoid.conf").unwrap_err().to_string()
    }

    #[test]
    fn errors_have_file_line_column() {
        assert_eq!(
            err("[tank]\n  hourly = 1\n\n    hourlyy = 3\n"),
            "sanoid.conf:4:5: unknown key 'hourlyy' in section [tank] (did you mean 'hourly'?)"
        );
        assert_eq!(
            err("[tank]\n\tdaily = 1O\n"),
            "sanoid.conf:2:11: bad value '1O' for 'daily' in section [tank]: expected a non-negative whole number"
        );
        assert_eq!(
            err("[tank]\nmonthly_mday = 32\n"),
            "sanoid.conf:2:16: bad value '32' for 'monthly_mday' in section [tank]: must be between 1 and 31"
        );
        assert_eq!(
            err("[tank]\nhourly_warn = 90x\n"),
            "sanoid.conf:2:17: bad value '90x' for 'hourly_warn' in section [tank]: expected a number with an optional suffix s, m, h, d, w or y"
        );
        assert_eq!(
            err("hourly = 1\n"),
            "sanoid.conf:1:1: key 'hourly' appears before any [section]"
        );
        assert_eq!(
            err("[tank]\nautosnap = maybe\n"),
            "sanoid.conf:2:12: bad value 'maybe' for 'autosnap' in section [tank]: expected yes/no, 1/0, true/false or on/off"
        );
        assert_eq!(
            err("[tank]\nuse_template = a,  missing\n[template_a]\n"),
            "sanoid.conf:2:20: unknown template 'missing' in section [tank] (no [template_missing] section)"
        );
        assert_eq!(
            err("[tank]\n[tank]\n"),
            "sanoid.conf:2:2: duplicate section [tank] (first defined on line 1)"
        );
        assert_eq!(
            err("[a]\npath = tank\n[tank]\n"),
            "sanoid.conf:3:2: dataset 'tank' is configured by both [a] and [tank]"
        );
        assert_eq!(
            err("[tank]\nrecursive = sometimes\n").split(": ").next(),
            Some("sanoid.conf:2:13")
        );
        assert_eq!(
            err("[version]\nversoin = 2\n"),
            "sanoid.conf:2:1: unknown key 'versoin' in section [version]"
        );
        assert_eq!(err("[tank@x]\n"), "sanoid.conf:1:2: 'tank@x' in section [tank@x] is not a valid dataset name: character '@' is not allowed");
        assert_eq!(err("[mirror1/x]\n"), "sanoid.conf:1:2: 'mirror1/x' in section [mirror1/x] is not a valid dataset name: a pool name may not begin with the reserved word 'mirror'");
        assert_eq!(err("[t]\n[9tank]\n"), "sanoid.conf:2:2: '9tank' in section [9tank] is not a valid dataset name: a pool name must begin with a letter");
        assert_eq!(
            err("[log/x]\n").split(": ").last(),
            Some("the pool name 'log' is reserved")
        );
        let long = format!("[tank/{}]\n", "x".repeat(251));
        assert!(
            err(&long).ends_with("longer than 255 bytes (256 bytes)"),
            "{}",
            err(&long)
        );
        assert!(Config::parse(&format!("[tank/{}]\n", "x".repeat(250)), "f").is_ok());
        assert!(Config::parse("[logs/x]\n[mirrorless]\n", "f").is_err());
        assert!(Config::parse("[logs/x]\n[tank 2/a b]\n", "f").is_ok());
        assert_eq!(
            err("[tank]\nhourly 5\n"),
            "sanoid.conf:2:8: syntax error: expected '=' after the key"
        );
        assert_eq!(
            err("[tank]\r\n  x\r\n"),
            "sanoid.conf:2:4: syntax error: expected '=' after the key"
        );
        assert_eq!(err("[tank]\nprune_grid = 24x1h | 0x1d\n"), "sanoid.conf:2:22: bad value '24x1h | 0x1d' for 'prune_grid' in section [tank]: count must be at least 1");
        let e = Config::parse_bytes(b"[tank]\nhourly = \xff\n", "f").unwrap_err();
        assert_eq!(
            (e.line, e.column, *e.kind),
            (2, 10, ConfigErrorKind::InvalidUtf8)
        );
    }

    #[test]
    fn templates_warn_about_structural_keys() {
        let c = Config::parse(
            "[template_a]\nrecursive = yes\nuse_template = b\nhourly = 1\n",
            "x",
        )
        .unwrap();
        assert_eq!(c.warnings.len(), 2);
        assert_eq!(c.templates["a"].settings.hourly, Some(1));
        assert_eq!(c.templates["a"].structure.recursive, None);
    }
}
