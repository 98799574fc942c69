//! Report templates: which tags, grouped how, which statistics, and when silence counts as a gap. A
//! template is TOML; the demo plant's `shift` and `daily` are built in (embedded from
//! `assets/reports/`), any other is a file. A bad template is an error at its `file:line:col`.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::ReportError;

/// The built-in templates fit any plant: without `[[groups]]` a template reports every tag of the
/// history, a group per device. (The demo plant's own shift and daily templates, with groups named for
/// its station, are files: `assets/reports/shift.toml` and `daily.toml`.)
const SHIFT: &str = "title = \"Shift report\"\ntitle_zh = \"班报\"\nmax_gap = \"90s\"\n";
const DAILY: &str = "title = \"Daily report\"\ntitle_zh = \"日报\"\nmax_gap = \"90s\"\n";

/// The silence after which a tag is in a gap when the template does not say (the default heartbeat of
/// 60 s and half a minute of slack).
pub const DEFAULT_MAX_GAP: Duration = Duration::from_secs(90);

/// A statistic a template can ask for (the coverage and the gaps are always shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Statistic {
    Min,
    Max,
    /// The plain mean of the good samples in the window.
    Avg,
    /// The time-weighted average (each good value holds until the next stored sample).
    Twa,
    /// Booleans: the time spent true and false.
    TimeInState,
    /// Booleans: how often the tag went from false to true.
    Starts,
}

impl Statistic {
    pub const ALL: [Statistic; 6] = [
        Statistic::Min,
        Statistic::Max,
        Statistic::Avg,
        Statistic::Twa,
        Statistic::TimeInState,
        Statistic::Starts,
    ];

    /// The template's spelling.
    pub fn name(self) -> &'static str {
        match self {
            Statistic::Min => "min",
            Statistic::Max => "max",
            Statistic::Avg => "avg",
            Statistic::Twa => "twa",
            Statistic::TimeInState => "time_in_state",
            Statistic::Starts => "starts",
        }
    }

    pub fn from_name(name: &str) -> Option<Statistic> {
        Statistic::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl fmt::Display for Statistic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A validated template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// Where it came from: `shift`, `daily` or the file's path (for messages).
    pub source: String,
    pub title: String,
    pub title_zh: Option<String>,
    pub max_gap: Duration,
    pub statistics: Vec<Statistic>,
    pub groups: Vec<Group>,
}

/// Tags reported together, and drawn in one trend chart unless `chart` is false.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub name: String,
    pub name_zh: Option<String>,
    /// Full ids, `device/tag`.
    pub tags: Vec<String>,
    pub chart: bool,
}

impl Template {
    /// The template a `[[reports]]` schedule names.
    pub fn of(template: &plantwatch_core::TemplateRef) -> Result<Template, ReportError> {
        match template {
            plantwatch_core::TemplateRef::Builtin(builtin) => Template::load(builtin.name()),
            plantwatch_core::TemplateRef::File(path) => Template::load(&path.to_string_lossy()),
        }
    }

    /// A built-in template by name (`shift`, `daily`), or else a template file by path.
    pub fn load(name_or_path: &str) -> Result<Template, ReportError> {
        match name_or_path {
            "shift" => Template::parse("shift", SHIFT),
            "daily" => Template::parse("daily", DAILY),
            path => {
                let text = std::fs::read_to_string(Path::new(path)).map_err(|source| {
                    ReportError::Read {
                        what: "the template",
                        path: path.into(),
                        source,
                    }
                })?;
                Template::parse(path, &text)
            }
        }
    }

    /// Parses a template's text; `source` names it in errors (`source:line:col: message`).
    pub fn parse(source: &str, text: &str) -> Result<Template, ReportError> {
        let located = |offset: usize, message: String| {
            let (line, col) = line_col(text, offset);
            ReportError::Template(format!("{source}:{line}:{col}: {message}"))
        };
        let raw: RawTemplate = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            located(offset, e.message().trim().to_string())
        })?;
        let max_gap = match &raw.max_gap {
            None => DEFAULT_MAX_GAP,
            Some(text_gap) => {
                let gap = plantwatch_core::parse_duration(text_gap.get_ref())
                    .map_err(|e| located(text_gap.span().start, format!("max_gap: {e}")))?;
                if gap.is_zero() {
                    return Err(located(
                        text_gap.span().start,
                        "max_gap must be more than 0".into(),
                    ));
                }
                gap
            }
        };
        let statistics = match &raw.statistics {
            None => Statistic::ALL.to_vec(),
            Some(names) => names
                .iter()
                .map(|name| {
                    Statistic::from_name(name.get_ref()).ok_or_else(|| {
                        let allowed: Vec<&str> = Statistic::ALL.iter().map(|s| s.name()).collect();
                        located(
                            name.span().start,
                            format!(
                                "unknown statistic '{}'; allowed: {}",
                                plantwatch_core::echo::escape(name.get_ref()),
                                allowed.join(", ")
                            ),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let mut groups = Vec::with_capacity(raw.groups.len());
        for group in raw.groups {
            if group.tags.get_ref().is_empty() {
                return Err(located(
                    group.tags.span().start,
                    format!(
                        "group '{}' lists no tags",
                        plantwatch_core::echo::escape(&group.name)
                    ),
                ));
            }
            let mut tags = Vec::new();
            for tag in group.tags.into_inner() {
                let full_id = tag.get_ref();
                if full_id
                    .split_once('/')
                    .is_none_or(|(d, t)| d.is_empty() || t.is_empty())
                {
                    return Err(located(
                        tag.span().start,
                        format!(
                            "'{}' is not a tag (expected device/tag)",
                            plantwatch_core::echo::escape(full_id)
                        ),
                    ));
                }
                tags.push(tag.into_inner());
            }
            groups.push(Group {
                name: group.name,
                name_zh: group.name_zh,
                tags,
                chart: group.chart.unwrap_or(true),
            });
        }
        Ok(Template {
            source: source.to_string(),
            title: raw.title,
            title_zh: raw.title_zh,
            max_gap,
            statistics,
            groups,
        })
    }

    /// A template without `[[groups]]` made concrete for one history: every tag of `tags` (full ids,
    /// in the history's order), a group per device, charted. A template with groups is kept as it is.
    pub fn for_tags(&self, tags: &[String]) -> Template {
        if !self.groups.is_empty() {
            return self.clone();
        }
        let mut groups: Vec<Group> = Vec::new();
        for tag in tags {
            let device = tag.split_once('/').map_or(tag.as_str(), |(d, _)| d);
            match groups.iter_mut().find(|g| g.name == device) {
                Some(group) => group.tags.push(tag.clone()),
                None => groups.push(Group {
                    name: device.to_string(),
                    name_zh: None,
                    tags: vec![tag.clone()],
                    chart: true,
                }),
            }
        }
        Template {
            groups,
            ..self.clone()
        }
    }

    /// Every tag of the template, each once, in template order.
    pub fn tags(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for tag in self.groups.iter().flat_map(|g| &g.tags) {
            if !out.contains(tag) {
                out.push(tag.clone());
            }
        }
        out
    }

    pub fn wants(&self, statistic: Statistic) -> bool {
        self.statistics.contains(&statistic)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTemplate {
    title: String,
    title_zh: Option<String>,
    max_gap: Option<toml::Spanned<String>>,
    statistics: Option<Vec<toml::Spanned<String>>>,
    #[serde(default)]
    groups: Vec<RawGroup>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    name: String,
    name_zh: Option<String>,
    tags: toml::Spanned<Vec<toml::Spanned<String>>>,
    chart: Option<bool>,
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> String {
        match Template::parse("t.toml", text) {
            Err(ReportError::Template(message)) => message,
            other => panic!("expected a template error, got {other:?}"),
        }
    }

    #[test]
    fn the_built_in_templates_parse() {
        for name in ["shift", "daily"] {
            let template = Template::load(name).expect(name);
            assert!(template.groups.is_empty(), "{name} reports every tag");
            assert!(template.title_zh.is_some(), "{name} has a Chinese title");
        }
        // The demo plant's own templates name its tags, grouped by its station.
        for file in ["shift.toml", "daily.toml"] {
            let path = format!("{}/../../assets/reports/{file}", env!("CARGO_MANIFEST_DIR"));
            let template = Template::load(&path).expect(file);
            assert!(!template.tags().is_empty(), "{file} reports tags");
            assert!(template.title_zh.is_some(), "{file} has a Chinese title");
        }
    }

    #[test]
    fn a_custom_template_takes_defaults() {
        let t = Template::parse(
            "t.toml",
            "title = \"T\"\n[[groups]]\nname = \"G\"\ntags = [\"plc/level\", \"plc/level\"]\n",
        )
        .expect("valid");
        assert_eq!(t.max_gap, DEFAULT_MAX_GAP);
        assert_eq!(t.statistics, Statistic::ALL.to_vec());
        assert!(t.groups[0].chart);
        assert_eq!(
            t.tags(),
            vec!["plc/level".to_string()],
            "a tag twice is read once"
        );
    }

    #[test]
    fn errors_point_at_file_line_and_column() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/data/report/bad_templates.txt"
        ))
        .expect("test data");
        // Cases are separated by lines of `---`; each starts with `# expect: MESSAGE`.
        for case in text.split("\n---\n") {
            // The expectation line is a TOML comment and stays in the text: line numbers count it.
            let first = case.lines().next().unwrap_or_default();
            let expected = first
                .strip_prefix("# expect: ")
                .expect("a case names its error");
            assert_eq!(error_of(case), expected, "case:\n{case}");
        }
    }

    #[test]
    fn a_template_without_groups_reports_every_tag_a_group_per_device() {
        let t = Template::load("shift").expect("built in");
        assert!(t.groups.is_empty());
        let tags: Vec<String> = [
            "plc/level",
            "plc/flow",
            "drive1/frequency",
            "plc/pump1_running",
        ]
        .map(String::from)
        .to_vec();
        let concrete = t.for_tags(&tags);
        let groups: Vec<(&str, Vec<&str>)> = concrete
            .groups
            .iter()
            .map(|g| (g.name.as_str(), g.tags.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(
            groups,
            [
                ("plc", vec!["plc/level", "plc/flow", "plc/pump1_running"]),
                ("drive1", vec!["drive1/frequency"]),
            ]
        );
        // A template with groups keeps them.
        let own = Template::parse(
            "t.toml",
            "title = \"T\"\n[[groups]]\nname = \"G\"\ntags = [\"plc/flow\"]\n",
        )
        .expect("valid");
        assert_eq!(own.for_tags(&tags), own);
    }
}
