//! Trend data: the history of a few tags over a range, thinned in Rust to one bucket per pixel column
//! (min, max, average and count), so the UI never receives every sample.

use std::path::Path;
use std::time::Instant;

use plantwatch_core::{Plant, TagIndex, Timestamp};
use plantwatch_history::{Bucket, HistoryError, HistoryReader};

use super::wire::{ErrorCode, PenData, TrendData, TrendRequest, UiError};

/// The most columns a request may ask for (a very wide screen).
const MAX_COLUMNS: u32 = 4000;
/// The most pens on one chart.
const MAX_PENS: usize = 8;

/// Checks a request against the plant and returns the full ids of its pens.
pub fn pen_ids(plant: &Plant, request: &TrendRequest) -> Result<Vec<String>, UiError> {
    if request.to <= request.from {
        return Err(UiError::new(
            ErrorCode::BadRequest,
            "the trend's end must be after its start",
        ));
    }
    if request.columns == 0 || request.columns > MAX_COLUMNS {
        return Err(UiError::new(
            ErrorCode::BadRequest,
            format!("columns must be 1..={MAX_COLUMNS}"),
        ));
    }
    if request.tags.len() > MAX_PENS {
        return Err(UiError::new(
            ErrorCode::BadRequest,
            format!("at most {MAX_PENS} pens on one trend"),
        ));
    }
    request
        .tags
        .iter()
        .map(|&t| {
            plant
                .full_id(TagIndex(t))
                .ok_or_else(|| UiError::new(ErrorCode::NotFound, format!("no tag with index {t}")))
        })
        .collect()
}

/// Reads and thins the history of every pen. Pens are read in parallel, each on its own read-only
/// connection (SQLite readers do not block each other or the writer in WAL mode).
pub fn history(db: &Path, plant: &Plant, request: &TrendRequest) -> Result<TrendData, UiError> {
    let started = Instant::now();
    let ids = pen_ids(plant, request)?;
    let (from, to) = (Timestamp(request.from), Timestamp(request.to));
    let columns = request.columns as usize;
    let results: Vec<Result<Vec<Bucket>, HistoryError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = ids
            .iter()
            .map(|id| scope.spawn(move || thin(db, id, from, to, columns)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Ok(Vec::new())))
            .collect()
    });
    let mut pens = Vec::with_capacity(ids.len());
    for (tag, result) in request.tags.iter().zip(results) {
        let buckets = result.map_err(|e| UiError::new(ErrorCode::History, e.to_string()))?;
        pens.push(pen(*tag, &buckets, columns));
    }
    let time = (0..columns)
        .map(|c| column_middle(request.from, request.to, columns, c))
        .collect();
    Ok(TrendData {
        from: request.from,
        to: request.to,
        time,
        pens,
        query_ms: started.elapsed().as_secs_f64() * 1000.0,
    })
}

/// One pen's buckets; a history without the tag yet (or without the file yet) gives empty columns.
fn thin(
    db: &Path,
    id: &str,
    from: Timestamp,
    to: Timestamp,
    columns: usize,
) -> Result<Vec<Bucket>, HistoryError> {
    if !db.exists() {
        return Ok(Vec::new());
    }
    let reader = HistoryReader::open(db)?;
    match reader.thinned(id, from, to, columns) {
        Err(HistoryError::UnknownTag { .. }) => Ok(Vec::new()),
        other => other,
    }
}

fn pen(tag: u32, buckets: &[Bucket], columns: usize) -> PenData {
    let mut p = PenData {
        tag,
        min: vec![None; columns],
        max: vec![None; columns],
        avg: vec![None; columns],
        count: vec![0; columns],
    };
    for (c, b) in buckets.iter().enumerate().take(columns) {
        p.min[c] = b.min;
        p.max[c] = b.max;
        p.avg[c] = b.avg;
        p.count[c] = u32::try_from(b.count).unwrap_or(u32::MAX);
    }
    p
}

/// The middle of column `c` when `[from, to)` is cut into `columns` equal columns (the same edges the
/// history reader uses).
pub fn column_middle(from: i64, to: i64, columns: usize, c: usize) -> f64 {
    let span = (to - from) as f64;
    from as f64 + span * (c as f64 + 0.5) / columns as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    use plantwatch_core::{Quality, Sample, Value};
    use plantwatch_history::HistoryWriter;

    const PLANT: &str = r#"
[plant]
name = "Trend test"
[history]
path = "trend.db"
[[devices]]
id = "plc"
transport = "tcp"
host = "127.0.0.1"
port = 9
unit = 1
[[devices.tags]]
id = "level"
table = "holding"
address = 0
type = "u16"
"#;

    fn plant_with_history(dir: &Path, samples: &[(i64, f64, Quality)]) -> Plant {
        let config = dir.join("plant.toml");
        std::fs::write(&config, PLANT).expect("write plant");
        let plant = plantwatch_config::load(&config).expect("plant parses");
        let writer = HistoryWriter::open(&plant.history, &plant).expect("open history");
        let batch = samples
            .iter()
            .map(|&(ms, v, quality)| Sample {
                tag: TagIndex(0),
                time: Timestamp(ms),
                value: Some(Value::Number(v)),
                quality,
            })
            .collect();
        writer.sink().send(batch);
        writer.close().expect("flush");
        plant
    }

    #[test]
    fn history_is_thinned_to_min_max_avg_per_column_and_bad_samples_are_left_out() {
        let dir = tempfile::tempdir().expect("temp dir");
        let good = Quality::Good;
        let plant = plant_with_history(
            dir.path(),
            &[
                (0, 1.0, good),
                (100, 5.0, good),
                (400, 9.0, Quality::Bad(plantwatch_core::Cause::CommLost)),
                (600, 2.0, good),
            ],
        );
        let request = TrendRequest {
            tags: vec![0],
            from: 0,
            to: 1000,
            columns: 2,
        };
        let data = history(&plant.history, &plant, &request).expect("query");
        let pen = &data.pens[0];
        assert_eq!(pen.min, vec![Some(1.0), Some(2.0)]);
        assert_eq!(
            pen.max,
            vec![Some(5.0), Some(2.0)],
            "the bad 9.0 is not drawn"
        );
        assert_eq!(pen.avg, vec![Some(3.0), Some(2.0)]);
        assert_eq!(pen.count, vec![2, 1]);
        assert_eq!(data.time, vec![250.0, 750.0]);
    }

    #[test]
    fn a_tag_without_history_gives_empty_columns_and_bad_requests_are_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let plant = plant_with_history(dir.path(), &[]);
        let data = history(
            &plant.history,
            &plant,
            &TrendRequest {
                tags: vec![0],
                from: 0,
                to: 10,
                columns: 3,
            },
        )
        .expect("query");
        assert_eq!(data.pens[0].count, vec![0, 0, 0]);
        let backwards = history(
            &plant.history,
            &plant,
            &TrendRequest {
                tags: vec![0],
                from: 10,
                to: 0,
                columns: 3,
            },
        );
        assert_eq!(backwards.expect_err("refused").code, ErrorCode::BadRequest);
        let unknown = history(
            &plant.history,
            &plant,
            &TrendRequest {
                tags: vec![7],
                from: 0,
                to: 10,
                columns: 3,
            },
        );
        assert_eq!(unknown.expect_err("refused").code, ErrorCode::NotFound);
    }

    #[test]
    fn column_middles_split_the_range_evenly() {
        let mids: Vec<f64> = (0..4).map(|c| column_middle(1000, 2000, 4, c)).collect();
        assert_eq!(mids, vec![1125.0, 1375.0, 1625.0, 1875.0]);
    }
}
