//! The binding language: `data-pw-*` attributes on SVG elements, parsed once into typed [`Binding`]s
//! whose tags are resolved against the plant.
//!
//! ```text
//! data-pw-text="plc/flow" data-pw-format="0.0"       the value with its unit, one decimal
//! data-pw-fill="plc/pump1_running: true=#2a2, false=#777; plc/pump1_tripped: true=#d22"
//! data-pw-stroke="plc/level: 0..0.5=#d22, 3.2..=#d22"  rules in order, the last that matches wins
//! data-pw-level="plc/level 0..4"                    height from the bottom (data-pw-level-axis="x": width)
//! data-pw-visible="plc/door_open"                   also "!plc/door_open", "plc/level > 2"
//! data-pw-rotate="drive1/speed 0..1500 0..360"      value range to angle range, about the centre
//! data-pw-click="trend"                             or "write", or either followed by a tag id
//! ```

use plantwatch_core::{Plant, ValueType};

/// A problem in one binding attribute, at a byte offset inside its value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BindingProblem {
    pub offset: usize,
    pub message: String,
}

fn problem(offset: usize, message: impl Into<String>) -> BindingProblem {
    BindingProblem {
        offset,
        message: message.into(),
    }
}

/// A tag a binding reads: its plant-wide index (what live batches carry) and its full id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRef {
    /// Plant-wide tag index.
    pub index: u32,
    /// `device/tag`.
    pub id: String,
}

/// A colour an element may be painted: `#rrggbb` (short forms are expanded), or `none`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Colour(String);

impl Colour {
    /// `#rgb`, `#rgba`, `#rrggbb`, `#rrggbbaa` (any case) or `none`, written in full lower case.
    pub fn parse(text: &str) -> Option<Colour> {
        if text == "none" {
            return Some(Colour(text.to_string()));
        }
        let hex = text.strip_prefix('#')?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let full = match hex.len() {
            3 | 4 => hex.chars().flat_map(|c| [c, c]).collect(),
            6 | 8 => hex.to_string(),
            _ => return None,
        };
        Some(Colour(format!("#{}", full.to_ascii_lowercase())))
    }

    /// The CSS text of the colour.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// When a colour rule applies.
#[derive(Debug, Clone, PartialEq)]
pub enum Match {
    /// A boolean tag is `true` (or `false`).
    Is { value: bool },
    /// A numeric tag equals the number.
    Equals { value: f64 },
    /// A numeric tag lies in `from..to`, both ends included; an end left out is open.
    Within { from: Option<f64>, to: Option<f64> },
}

/// One `condition=colour` of a fill or stroke.
#[derive(Debug, Clone, PartialEq)]
pub struct ColourRule {
    pub tag: TagRef,
    pub when: Match,
    pub colour: Colour,
}

/// A closed numeric range `from..to` with `from < to`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    pub from: f64,
    pub to: f64,
}

/// Which way a level grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// Height, from the element's bottom edge (the default).
    Y,
    /// Width, from the element's left edge.
    X,
}

/// A comparison in a visibility condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    Above,
    AtLeast,
    Below,
    AtMost,
    Equal,
    NotEqual,
}

/// When an element is shown.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// A boolean tag is `value`.
    Is { value: bool },
    /// A numeric tag compared with a number.
    Compare { op: Compare, value: f64 },
}

/// What a click on an element does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClickAction {
    /// Opens the tag's trend.
    Trend,
    /// Opens the tag's write control (for users whose role may write it).
    Write,
}

/// One binding of an element to the plant.
#[derive(Debug, Clone, PartialEq)]
pub enum Binding {
    /// The element's text is the tag's value, with `decimals` when given, and the unit.
    Text {
        tag: TagRef,
        decimals: Option<u8>,
        unit: Option<String>,
    },
    /// The element's fill colour follows rules in order; the last that matches wins, none leaves the
    /// picture's own colour.
    Fill { rules: Vec<ColourRule> },
    /// As `Fill`, for the stroke.
    Stroke { rules: Vec<ColourRule> },
    /// The element is scaled between `span`'s ends along `axis`.
    Level { tag: TagRef, span: Span, axis: Axis },
    /// The element is shown only while the condition holds.
    Visible { tag: TagRef, condition: Condition },
    /// The element is turned about its centre: `values` mapped onto `angles` (degrees).
    Rotate {
        tag: TagRef,
        values: Span,
        angles: Span,
    },
    /// A click opens the tag's trend or write control.
    Click { tag: TagRef, action: ClickAction },
}

impl Binding {
    /// The tags the binding reads.
    pub fn tags(&self) -> Vec<&TagRef> {
        match self {
            Binding::Fill { rules } | Binding::Stroke { rules } => {
                rules.iter().map(|r| &r.tag).collect()
            }
            Binding::Text { tag, .. }
            | Binding::Level { tag, .. }
            | Binding::Visible { tag, .. }
            | Binding::Rotate { tag, .. }
            | Binding::Click { tag, .. } => vec![tag],
        }
    }
}

/// What kind of values a binding needs from its tag.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    Any,
    Boolean,
    Number,
}

/// Resolves tag ids against the plant and checks their kinds.
pub(crate) struct Tags<'p> {
    pub plant: &'p Plant,
}

impl Tags<'_> {
    /// The tag `id` (at `offset`), which must give values of kind `need`.
    fn resolve(&self, id: &str, offset: usize, need: Need) -> Result<TagRef, BindingProblem> {
        let index = self
            .plant
            .find_tag(id)
            .ok_or_else(|| problem(offset, format!("unknown tag '{id}' (expected device/tag)")))?;
        let value_type = self.value_type(index.0);
        let boolean = value_type.is_some_and(ValueType::is_boolean);
        let text = matches!(value_type, Some(ValueType::String { .. }));
        match need {
            Need::Boolean if !boolean => {
                return Err(problem(
                    offset,
                    format!("tag '{id}' is not a boolean; compare it with a number or a range"),
                ))
            }
            Need::Number if boolean || text => {
                return Err(problem(
                    offset,
                    format!(
                        "tag '{id}' is not numeric; use true or false{}",
                        if text { " (it is a string)" } else { "" }
                    ),
                ))
            }
            _ => {}
        }
        Ok(TagRef {
            index: index.0,
            id: id.to_string(),
        })
    }

    fn value_type(&self, index: u32) -> Option<ValueType> {
        self.plant
            .tag(plantwatch_core::TagIndex(index))
            .map(|(_, t)| t.value_type)
    }

    fn unit(&self, tag: &TagRef) -> Option<String> {
        self.plant
            .tag(plantwatch_core::TagIndex(tag.index))
            .and_then(|(_, t)| t.unit().map(String::from))
    }

    fn writable(&self, tag: &TagRef) -> bool {
        self.plant
            .tag(plantwatch_core::TagIndex(tag.index))
            .is_some_and(|(_, t)| t.write_spec().is_some())
    }
}

/// A word of an attribute value with its byte offset.
#[derive(Clone, Copy)]
struct Word<'a> {
    text: &'a str,
    offset: usize,
}

/// Splits `text` (at `offset`) on `separator`, trimming each piece; empty pieces are kept, so a
/// doubled separator is reported where it is.
fn split<'a>(text: &'a str, offset: usize, separator: char) -> Vec<Word<'a>> {
    let mut words = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices().chain([(text.len(), separator)]) {
        if c == separator {
            let piece = &text[start..i];
            let lead = piece.len() - piece.trim_start().len();
            words.push(Word {
                text: piece.trim(),
                offset: offset + start + lead,
            });
            start = i + c.len_utf8();
        }
    }
    words
}

/// Splits on runs of white space.
fn words(text: &str) -> Vec<Word<'_>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain([(text.len(), ' ')]) {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push(Word {
                    text: &text[s..i],
                    offset: s,
                });
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    out
}

fn number(word: Word<'_>) -> Result<f64, BindingProblem> {
    word.text
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .ok_or_else(|| problem(word.offset, format!("'{}' is not a number", word.text)))
}

/// `A..B` with both ends, `A < B`.
fn span(word: Word<'_>) -> Result<Span, BindingProblem> {
    let (from, to) = word.text.split_once("..").ok_or_else(|| {
        problem(
            word.offset,
            format!("expected a range like 0..4, not '{}'", word.text),
        )
    })?;
    let from = number(Word {
        text: from,
        offset: word.offset,
    })?;
    let to = number(Word {
        text: to,
        offset: word.offset + word.text.len() - to.len(),
    })?;
    if from >= to {
        return Err(problem(
            word.offset,
            format!(
                "the range {}..{} is empty: its start must be below its end",
                from, to
            ),
        ));
    }
    Ok(Span { from, to })
}

/// `data-pw-text`: one tag; `format` is `data-pw-format`'s value, if any (checked by the caller).
pub(crate) fn text(
    value: &str,
    decimals: Option<u8>,
    tags: &Tags<'_>,
) -> Result<Binding, BindingProblem> {
    let tag = single_tag(value)?;
    let tag = tags.resolve(tag.text, tag.offset, Need::Any)?;
    let unit = tags.unit(&tag);
    Ok(Binding::Text {
        tag,
        decimals,
        unit,
    })
}

/// `data-pw-format`: `0`, `0.0`, `0.00`, ... (the number of decimals shown).
pub(crate) fn format(value: &str) -> Result<u8, BindingProblem> {
    let decimals = match value.trim().split_once('.') {
        None if value.trim() == "0" => Some(0),
        Some(("0", zeros))
            if !zeros.is_empty() && zeros.len() <= 9 && zeros.bytes().all(|b| b == b'0') =>
        {
            Some(zeros.len() as u8)
        }
        _ => None,
    };
    decimals.ok_or_else(|| {
        problem(
            0,
            format!("'{value}' is not a format; write 0, 0.0, 0.00, ... (up to 9 decimals)"),
        )
    })
}

fn single_tag(value: &str) -> Result<Word<'_>, BindingProblem> {
    let all = words(value);
    match all.as_slice() {
        [one] => Ok(*one),
        [] => Err(problem(0, "expected a tag id (device/tag)")),
        [_, extra, ..] => Err(problem(
            extra.offset,
            format!("unexpected '{}' after the tag id", extra.text),
        )),
    }
}

/// `data-pw-fill` / `data-pw-stroke`: `tag: cond=colour, ...; tag2: ...`.
pub(crate) fn colour_rules(
    value: &str,
    tags: &Tags<'_>,
) -> Result<Vec<ColourRule>, BindingProblem> {
    let mut rules = Vec::new();
    for group in split(value, 0, ';') {
        if group.text.is_empty() {
            return Err(problem(
                group.offset,
                "expected 'device/tag: condition=#colour, ...' here",
            ));
        }
        let Some((id, list)) = group.text.split_once(':') else {
            return Err(problem(
                group.offset,
                format!(
                    "expected 'device/tag: condition=#colour, ...', not '{}'",
                    group.text
                ),
            ));
        };
        let id_word = Word {
            text: id.trim(),
            offset: group.offset,
        };
        let list_offset = group.offset + id.len() + 1;
        let pieces = split(list, list_offset, ',');
        // The kind a tag needs depends on its conditions: true/false want a boolean, numbers a number.
        let mut need = None;
        let mut parsed = Vec::new();
        for piece in pieces {
            let Some((cond, colour)) = piece.text.split_once('=') else {
                return Err(problem(
                    piece.offset,
                    format!("expected condition=#colour, not '{}'", piece.text),
                ));
            };
            let cond_word = Word {
                text: cond.trim(),
                offset: piece.offset,
            };
            let colour_offset = piece.offset + cond.len() + 1;
            let colour_text = colour.trim();
            let colour = Colour::parse(colour_text).ok_or_else(|| {
                problem(
                    colour_offset + (colour.len() - colour.trim_start().len()),
                    format!(
                        "'{colour_text}' is not a colour; write #rgb, #rrggbb, #rrggbbaa or none"
                    ),
                )
            })?;
            let (when, wants) = condition_of(cond_word)?;
            if need.is_some_and(|n| n != wants) {
                return Err(problem(
                    cond_word.offset,
                    "a tag's conditions are either true/false or numbers, not both",
                ));
            }
            need = Some(wants);
            parsed.push((when, colour));
        }
        let tag = tags.resolve(id_word.text, id_word.offset, need.unwrap_or(Need::Any))?;
        rules.extend(parsed.into_iter().map(|(when, colour)| ColourRule {
            tag: tag.clone(),
            when,
            colour,
        }));
    }
    Ok(rules)
}

fn condition_of(word: Word<'_>) -> Result<(Match, Need), BindingProblem> {
    match word.text {
        "true" => return Ok((Match::Is { value: true }, Need::Boolean)),
        "false" => return Ok((Match::Is { value: false }, Need::Boolean)),
        "" => return Err(problem(word.offset, "expected a condition before '='")),
        _ => {}
    }
    if let Some((from, to)) = word.text.split_once("..") {
        let end = |text: &str, offset: usize| -> Result<Option<f64>, BindingProblem> {
            if text.trim().is_empty() {
                Ok(None)
            } else {
                number(Word {
                    text: text.trim(),
                    offset,
                })
                .map(Some)
            }
        };
        let from_n = end(from, word.offset)?;
        let to_n = end(to, word.offset + from.len() + 2)?;
        if from_n.is_none() && to_n.is_none() {
            return Err(problem(
                word.offset,
                "a range needs at least one end, like 2.. or ..4",
            ));
        }
        if let (Some(a), Some(b)) = (from_n, to_n) {
            if a > b {
                return Err(problem(
                    word.offset,
                    format!("the range {a}..{b} is empty: its start is above its end"),
                ));
            }
        }
        return Ok((
            Match::Within {
                from: from_n,
                to: to_n,
            },
            Need::Number,
        ));
    }
    match number(word) {
        Ok(value) => Ok((Match::Equals { value }, Need::Number)),
        Err(_) => Err(problem(
            word.offset,
            format!(
                "'{}' is not a condition; write true, false, a number or a range like 0..2",
                word.text
            ),
        )),
    }
}

/// `data-pw-level`: `tag A..B`; `axis` is from `data-pw-level-axis`.
pub(crate) fn level(value: &str, axis: Axis, tags: &Tags<'_>) -> Result<Binding, BindingProblem> {
    let all = words(value);
    let [tag, range] = all.as_slice() else {
        return Err(problem(
            all.get(2).map_or(0, |w| w.offset),
            "expected 'device/tag FROM..TO', like plc/level 0..4",
        ));
    };
    let tag = tags.resolve(tag.text, tag.offset, Need::Number)?;
    Ok(Binding::Level {
        tag,
        span: span(*range)?,
        axis,
    })
}

/// `data-pw-level-axis`: `x` or `y`.
pub(crate) fn axis(value: &str) -> Result<Axis, BindingProblem> {
    match value.trim() {
        "y" => Ok(Axis::Y),
        "x" => Ok(Axis::X),
        other => Err(problem(
            0,
            format!("'{other}' is not an axis; write x or y"),
        )),
    }
}

/// `data-pw-visible`: `tag`, `!tag` or `tag OP number`.
pub(crate) fn visible(value: &str, tags: &Tags<'_>) -> Result<Binding, BindingProblem> {
    let all = words(value);
    match all.as_slice() {
        [one] => {
            let (id, negated) = match one.text.strip_prefix('!') {
                Some(rest) => (
                    Word {
                        text: rest,
                        offset: one.offset + 1,
                    },
                    true,
                ),
                None => (*one, false),
            };
            let tag = tags.resolve(id.text, id.offset, Need::Boolean)?;
            Ok(Binding::Visible {
                tag,
                condition: Condition::Is { value: !negated },
            })
        }
        [id, op, limit] => {
            let op_value = match op.text {
                ">" => Compare::Above,
                ">=" => Compare::AtLeast,
                "<" => Compare::Below,
                "<=" => Compare::AtMost,
                "==" => Compare::Equal,
                "!=" => Compare::NotEqual,
                other => {
                    return Err(problem(
                        op.offset,
                        format!("'{other}' is not a comparison; write >, >=, <, <=, == or !="),
                    ))
                }
            };
            let tag = tags.resolve(id.text, id.offset, Need::Number)?;
            Ok(Binding::Visible {
                tag,
                condition: Condition::Compare {
                    op: op_value,
                    value: number(*limit)?,
                },
            })
        }
        _ => Err(problem(
            0,
            "expected 'device/tag', '!device/tag' or 'device/tag > NUMBER'",
        )),
    }
}

/// `data-pw-rotate`: `tag A..B C..D`.
pub(crate) fn rotate(value: &str, tags: &Tags<'_>) -> Result<Binding, BindingProblem> {
    let all = words(value);
    let [tag, values, angles] = all.as_slice() else {
        return Err(problem(
            0,
            "expected 'device/tag FROM..TO ANGLE..ANGLE', like drive1/speed 0..1500 0..360",
        ));
    };
    let tag = tags.resolve(tag.text, tag.offset, Need::Number)?;
    Ok(Binding::Rotate {
        tag,
        values: span(*values)?,
        angles: span(*angles)?,
    })
}

/// `data-pw-click`: `trend` or `write`, then the tag when the element has none or several of its own.
/// `own` is the element's single tag, if it has exactly one.
pub(crate) fn click(
    value: &str,
    own: Option<&TagRef>,
    tags: &Tags<'_>,
) -> Result<Binding, BindingProblem> {
    let all = words(value);
    let (action_word, tag_word) = match all.as_slice() {
        [action] => (*action, None),
        [action, tag] => (*action, Some(*tag)),
        _ => {
            return Err(problem(
                0,
                "expected 'trend' or 'write', optionally with a tag id",
            ))
        }
    };
    let action = match action_word.text {
        "trend" => ClickAction::Trend,
        "write" => ClickAction::Write,
        other => {
            return Err(problem(
                action_word.offset,
                format!("'{other}' is not a click action; write trend or write"),
            ))
        }
    };
    let tag = match (tag_word, own) {
        (Some(word), _) => tags.resolve(word.text, word.offset, Need::Any)?,
        (None, Some(tag)) => tag.clone(),
        (None, None) => return Err(problem(
            action_word.offset,
            "name the tag to open ('trend device/tag'): the element is bound to none or to several",
        )),
    };
    if action == ClickAction::Write && !tags.writable(&tag) {
        return Err(problem(
            tag_word.map_or(action_word.offset, |w| w.offset),
            format!(
                "tag '{}' is read-only (no write = {{ ... }} in the plant config), so it has no write control",
                tag.id
            ),
        ));
    }
    Ok(Binding::Click { tag, action })
}
