//! What the desktop remembers between runs (theme, last screen, recent plants, window size), kept as a
//! small JSON file in the app's data folder.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::wire::Settings;

/// How many recent plant files are remembered.
const RECENT_MAX: usize = 8;

/// The settings file and its current content.
pub struct SettingsStore {
    path: PathBuf,
    current: Mutex<Settings>,
}

impl SettingsStore {
    /// Reads the settings; a missing or unreadable file gives the defaults (settings are a convenience,
    /// never a reason not to start).
    pub fn load(path: PathBuf) -> SettingsStore {
        let current = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).unwrap_or_else(|error| {
                tracing::warn!("ignoring unreadable settings {}: {error}", path.display());
                Settings::default()
            }),
            Err(_) => Settings::default(),
        };
        SettingsStore {
            path,
            current: Mutex::new(current),
        }
    }

    pub fn get(&self) -> Settings {
        self.lock().clone()
    }

    /// Replaces the settings and writes them.
    pub fn set(&self, settings: Settings) -> std::io::Result<()> {
        *self.lock() = settings;
        self.save()
    }

    /// Changes the settings in place and writes them.
    pub fn update(&self, change: impl FnOnce(&mut Settings)) -> std::io::Result<()> {
        change(&mut self.lock());
        self.save()
    }

    /// Records a plant file as the one to open next time and the newest recent plant.
    pub fn remember_plant(&self, path: Option<&Path>) -> std::io::Result<()> {
        self.update(|s| {
            s.last_plant = path.map(|p| p.display().to_string());
            if let Some(p) = &s.last_plant {
                s.recent_plants.retain(|r| r != p);
                s.recent_plants.insert(0, p.clone());
                s.recent_plants.truncate(RECENT_MAX);
            }
        })
    }

    /// Notes the window's size in memory; [`SettingsStore::flush`] writes it (resizing sends many
    /// events, the disk needs only the last).
    pub fn remember_window(&self, size: super::wire::WindowSize) {
        self.lock().window = Some(size);
    }

    /// Writes the settings as they are.
    pub fn flush(&self) -> std::io::Result<()> {
        self.save()
    }

    fn save(&self) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(&*self.lock()).map_err(std::io::Error::other)?;
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // Write then rename, so a crash never leaves half a settings file.
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &self.path)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Settings> {
        // A panic while holding the lock leaves plain data behind: keep using it.
        self.current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_plants_are_newest_first_without_duplicates() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SettingsStore::load(dir.path().join("settings.json"));
        for p in ["/a.toml", "/b.toml", "/a.toml"] {
            store.remember_plant(Some(Path::new(p))).expect("save");
        }
        let reread = SettingsStore::load(dir.path().join("settings.json")).get();
        assert_eq!(reread.recent_plants, vec!["/a.toml", "/b.toml"]);
        assert_eq!(reread.last_plant.as_deref(), Some("/a.toml"));
    }

    #[test]
    fn a_settings_file_from_before_the_language_loads_and_follows_the_system() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("settings.json");
        std::fs::write(
            &path,
            r#"{"theme":"light","lastScreen":"tags","keyTags":["plc/level"]}"#,
        )
        .expect("write");
        let loaded = SettingsStore::load(path).get();
        assert_eq!(
            loaded.theme,
            super::super::wire::Theme::Light,
            "the old file's keys are kept"
        );
        assert_eq!(
            loaded.language, None,
            "no language chosen yet: the window follows the system's"
        );
    }

    #[test]
    fn the_chosen_language_is_saved() {
        use super::super::wire::Language;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("settings.json");
        let store = SettingsStore::load(path.clone());
        store
            .update(|s| s.language = Some(Language::SimplifiedChinese))
            .expect("save");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(
            text.contains(r#""language": "zh-CN""#),
            "saved as the page names it: {text}"
        );
        assert_eq!(
            SettingsStore::load(path).get().language,
            Some(Language::SimplifiedChinese)
        );
    }

    #[test]
    fn a_corrupt_settings_file_gives_the_defaults() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("settings.json");
        std::fs::write(&path, "{ not json").expect("write");
        assert_eq!(SettingsStore::load(path).get(), Settings::default());
    }
}
