//! The few texts the Rust side of the window writes itself, in the window's language: desktop
//! notifications and the titles and labels of exported charts. (The page's texts are in the UI's
//! catalogs; the command line stays in English, its output being a machine interface.)

use plantwatch_core::{AlarmCondition, LimitKind, Plant, Priority};

use super::wire::Language;

impl Language {
    /// A notification's title: `CRITICAL alarm: lift/level`, `紧急报警：lift/level`.
    pub fn alarm_title(self, priority: Priority, source: &str) -> String {
        match self {
            Language::English => format!("{} alarm: {source}", priority.name().to_uppercase()),
            Language::SimplifiedChinese => {
                let level = match priority {
                    Priority::Critical => "紧急报警",
                    Priority::High => "高优先级报警",
                    Priority::Medium => "中优先级报警",
                    Priority::Low => "低优先级报警",
                };
                format!("{level}：{source}")
            }
        }
    }

    /// An alarm's reading: `value 3.75 (limit 3.6)`, `数值 3.75（限值 3.6）`.
    pub fn reading(self, value: &str, limit: Option<&str>) -> String {
        match (self, limit) {
            (Language::English, Some(limit)) => format!("value {value} (limit {limit})"),
            (Language::English, None) => format!("value {value}"),
            (Language::SimplifiedChinese, Some(limit)) => format!("数值 {value}（限值 {limit}）"),
            (Language::SimplifiedChinese, None) => format!("数值 {value}"),
        }
    }

    /// What separates a message from the reading that follows it.
    pub fn separator(self) -> &'static str {
        match self {
            Language::English => ": ",
            Language::SimplifiedChinese => "：",
        }
    }

    /// An exported chart's title: the plant's name and what the chart is.
    pub fn trend_title(self, plant: &str) -> String {
        match self {
            Language::English => format!("{plant}: trend"),
            Language::SimplifiedChinese => format!("{plant}：趋势"),
        }
    }

    /// The title of the open dialog for a plant file.
    pub fn pick_plant_title(self) -> &'static str {
        match self {
            Language::English => "Open a plant file",
            Language::SimplifiedChinese => "打开工厂文件",
        }
    }

    /// The open dialog's filter for plant files.
    pub fn plant_files(self) -> &'static str {
        match self {
            Language::English => "Plant files",
            Language::SimplifiedChinese => "工厂文件",
        }
    }

    /// The title of the open dialog for a tag list to import.
    pub fn pick_tag_list_title(self) -> &'static str {
        match self {
            Language::English => "Import a tag list",
            Language::SimplifiedChinese => "导入标签表",
        }
    }

    /// The open dialog's filter for tag lists.
    pub fn tag_lists(self) -> &'static str {
        match self {
            Language::English => "Tag lists (CSV)",
            Language::SimplifiedChinese => "标签表（CSV）",
        }
    }

    /// The time axis of an exported chart (its labels are UTC).
    pub fn time_axis(self) -> &'static str {
        match self {
            Language::English => "time (UTC)",
            Language::SimplifiedChinese => "时间（UTC）",
        }
    }
}

/// The alarm message of `source`'s alarm of `kind` (`hi`, `state`, `comm`, ...) in the language, or
/// `None` to keep the message the alarm service wrote. In Chinese: the rule's `message_zh`; for a rule
/// without any message, the tag's name and the kind in Chinese (the service's default is `NAME HI`); for
/// a device's communication alarm, its name and 离线; for the system alarms ("history disk low",
/// "scheduled report failed"), their Chinese words. A rule's own English message without a Chinese one is the plant's text and stays.
pub fn alarm_message(
    plant: &Plant,
    language: Language,
    source: &str,
    kind: &str,
) -> Option<String> {
    if language != Language::SimplifiedChinese {
        return None;
    }
    // The system alarms (source `plantwatch`): the same words as the window's catalog (alarms.historyDiskLow,
    // alarms.reportFailed).
    if kind == "history_disk_low" {
        return Some("历史数据磁盘空间不足".to_string());
    }
    if kind == "report_failed" {
        return Some("定时报表生成失败".to_string());
    }
    if kind == "comm" {
        let device = plant.devices.iter().find(|d| d.id == source)?;
        return Some(format!("{} 离线", device.display_name()));
    }
    let (_, tag) = plant.tag(plant.find_tag(source)?)?;
    let rule = tag.alarms().iter().find(|rule| {
        let rule_kind = match rule.condition {
            AlarmCondition::Limit { kind, .. } => kind.name(),
            AlarmCondition::State { .. } => "state",
        };
        rule_kind == kind
    })?;
    if let Some(message) = &rule.message_zh {
        return Some(message.clone());
    }
    if rule.message.is_some() {
        return None;
    }
    let name = tag.name_zh().unwrap_or(tag.display_name());
    Some(match rule.condition {
        AlarmCondition::Limit { kind, .. } => {
            let word = match kind {
                LimitKind::HiHi => "高高限",
                LimitKind::Hi => "高限",
                LimitKind::Lo => "低限",
                LimitKind::LoLo => "低低限",
            };
            format!("{name} {word}")
        }
        AlarmCondition::State { value } => format!("{name} 为{}", if value { "开" } else { "关" }),
    })
}

/// A tag's name for a chart's legend in the language: in Chinese its `name_zh` when the plant gives one.
pub fn tag_name(tag: &plantwatch_core::Tag, language: Language) -> Option<String> {
    match language {
        Language::SimplifiedChinese => tag.name_zh().map(String::from),
        Language::English => None,
    }
}
