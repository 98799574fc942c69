//! Problems in a picture, each located as `station.svg:LINE:COL`.

use std::fmt;
use std::path::PathBuf;

use plantwatch_core::echo::escape;

/// A place in a picture file, both 1-based; columns count characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One problem that keeps a picture from being shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PictureError {
    /// The picture file, as the plant config resolved it.
    pub file: PathBuf,
    /// Where in the file; `None` when the file could not be read at all.
    pub position: Option<Position>,
    /// What is wrong, on one line, without the file or position.
    pub message: String,
}

impl fmt::Display for PictureError {
    /// `FILE:LINE:COL: message`, or `FILE: message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display().to_string();
        match self.position {
            Some(p) => write!(f, "{}:{p}: {}", escape(&file), escape(&self.message)),
            None => write!(f, "{}: {}", escape(&file), escape(&self.message)),
        }
    }
}

/// Every problem found in a picture (never empty), in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PictureErrors {
    pub errors: Vec<PictureError>,
}

impl fmt::Display for PictureErrors {
    /// One problem a line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}
