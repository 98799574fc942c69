//! The texts a report writes itself, in the report's language (`--lang en|zh-CN`), as the window does
//! for its charts (desktop `words.rs`). Tag ids, units and causes' machine names stay as they are.

use plantwatch_core::Priority;

use crate::stats::GapCause;

/// The language of a report: core's, the one `[[reports]] lang` and `--lang` name.
pub use plantwatch_core::ReportLanguage as Language;

/// One text in both languages.
pub struct Word {
    pub en: &'static str,
    pub zh: &'static str,
}

/// The texts a report writes in its language.
pub trait Words {
    fn pick(self, word: &Word) -> &'static str;
    /// A gap's cause for people: `no data (collector not running)`, `bad: comm_lost`.
    fn cause(self, cause: GapCause) -> String;
    fn priority(self, priority: Priority) -> &'static str;
    /// The font family the report's text is set in (the Simplified Chinese face of Noto CJK has the
    /// Latin letters too).
    fn font_family(self) -> &'static str;
}

impl Words for Language {
    fn pick(self, word: &Word) -> &'static str {
        match self {
            Language::English => word.en,
            Language::SimplifiedChinese => word.zh,
        }
    }

    fn cause(self, cause: GapCause) -> String {
        match (self, cause) {
            (Language::English, GapCause::NoData) => "no data (collector not running)".into(),
            (Language::SimplifiedChinese, GapCause::NoData) => "无数据（采集未运行）".into(),
            (_, GapCause::Quality(q)) => q.to_string(),
        }
    }

    fn priority(self, priority: Priority) -> &'static str {
        match self {
            Language::English => priority.name(),
            Language::SimplifiedChinese => match priority {
                Priority::Critical => "紧急",
                Priority::High => "高",
                Priority::Medium => "中",
                Priority::Low => "低",
            },
        }
    }

    fn font_family(self) -> &'static str {
        match self {
            Language::English => "DejaVu Sans, Noto Sans, sans-serif",
            Language::SimplifiedChinese => "Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif",
        }
    }
}

pub const PERIOD: Word = Word {
    en: "Period",
    zh: "时段",
};
pub const TEMPLATE: Word = Word {
    en: "Template",
    zh: "模板",
};
pub const STATISTICS: Word = Word {
    en: "Statistics",
    zh: "统计",
};
pub const TAG: Word = Word {
    en: "Tag",
    zh: "位号",
};
pub const UNIT: Word = Word {
    en: "Unit",
    zh: "单位",
};
pub const SAMPLES: Word = Word {
    en: "Samples",
    zh: "样本数",
};
pub const MIN: Word = Word {
    en: "Min",
    zh: "最小值",
};
pub const MAX: Word = Word {
    en: "Max",
    zh: "最大值",
};
pub const AVG: Word = Word {
    en: "Average",
    zh: "平均值",
};
pub const TWA: Word = Word {
    en: "Time-weighted avg",
    zh: "时间加权平均",
};
pub const COVERAGE: Word = Word {
    en: "Coverage",
    zh: "数据覆盖率",
};
pub const TIME_TRUE: Word = Word {
    en: "Time on",
    zh: "接通时间",
};
pub const TIME_FALSE: Word = Word {
    en: "Time off",
    zh: "断开时间",
};
pub const STARTS: Word = Word {
    en: "Starts",
    zh: "启动次数",
};
pub const MOSTLY_GAP: Word = Word {
    en: "mostly gap: less than half of the period has data",
    zh: "大部分为数据缺口：有效数据不足时段的一半",
};
pub const GAPS: Word = Word {
    en: "Gaps",
    zh: "数据缺口",
};
pub const FROM: Word = Word {
    en: "From",
    zh: "开始",
};
pub const TO: Word = Word {
    en: "To",
    zh: "结束",
};
pub const DURATION: Word = Word {
    en: "Duration",
    zh: "时长",
};
pub const CAUSE: Word = Word {
    en: "Cause",
    zh: "原因",
};
pub const NO_GAPS: Word = Word {
    en: "No gaps.",
    zh: "无数据缺口。",
};
pub const DEVICES: Word = Word {
    en: "Device availability",
    zh: "设备可用率",
};
pub const DEVICE: Word = Word {
    en: "Device",
    zh: "设备",
};
pub const AVAILABILITY: Word = Word {
    en: "Availability",
    zh: "可用率",
};
pub const KNOWN: Word = Word {
    en: "Time with data",
    zh: "有数据时间",
};
pub const ALARMS: Word = Word {
    en: "Alarms",
    zh: "报警",
};
pub const PRIORITY: Word = Word {
    en: "Priority",
    zh: "优先级",
};
pub const ACTIVATIONS: Word = Word {
    en: "Activations",
    zh: "触发次数",
};
pub const TOP_ALARMS: Word = Word {
    en: "Most frequent alarms",
    zh: "最频繁报警",
};
pub const ALARM: Word = Word {
    en: "Alarm",
    zh: "报警",
};
pub const TRENDS: Word = Word {
    en: "Trends",
    zh: "趋势",
};
pub const TIME: Word = Word {
    en: "Time (UTC)",
    zh: "时间（UTC）",
};
pub const GAP_LEGEND: Word = Word {
    en: "gap",
    zh: "数据缺口",
};
pub const SHARE_OF_RANGE: Word = Word {
    en: "% of each line's range",
    zh: "各曲线自身范围的百分比",
};
