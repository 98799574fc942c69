//! Reading the gap back from the history: the stored samples in `(from, to]`, in time order, in
//! batches that never split a millisecond, on a blocking thread with a bounded channel (the session
//! takes a batch only when its window has room, so the reader never runs ahead of the broker).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use plantwatch_core::{Plant, Quality, TagIndex, Timestamp, Value};
use plantwatch_history::{HistoryReader, SampleQuery};
use tokio::sync::mpsc;

/// One sample read back.
#[derive(Debug, Clone)]
pub struct Replayed {
    pub tag: TagIndex,
    pub time: Timestamp,
    pub value: Option<Value>,
    pub quality: Quality,
}

/// Every stored sample in (the previous batch's `through`, `through`], in time order.
#[derive(Debug, Clone)]
pub struct ReplayBatch {
    pub samples: Vec<Replayed>,
    pub through: Timestamp,
}

/// Streams `(from, to]` of the history at `history` into `batches`, about `batch_size` samples a
/// batch. The last batch ends at `to` (it may be empty). Samples of tags the plant no longer has are
/// skipped. Stops early when the receiver is dropped. Errors are sent as text.
pub fn spawn_reader(
    history: PathBuf,
    plant: Arc<Plant>,
    from: Timestamp,
    to: Timestamp,
    batch_size: usize,
    batches: mpsc::Sender<Result<ReplayBatch, String>>,
) -> tokio::task::JoinHandle<()> {
    tokio::task::spawn_blocking(move || {
        let result = read(&history, &plant, from, to, batch_size, &batches);
        if let Err(e) = result {
            let _ = batches.blocking_send(Err(e));
        }
    })
}

fn read(
    history: &std::path::Path,
    plant: &Plant,
    from: Timestamp,
    to: Timestamp,
    batch_size: usize,
    batches: &mpsc::Sender<Result<ReplayBatch, String>>,
) -> Result<(), String> {
    let reader = HistoryReader::open(history).map_err(|e| e.to_string())?;
    let query = SampleQuery {
        tags: Vec::new(),
        from: Some(from.add_millis(1)),
        to: Some(to.add_millis(1)),
    };
    // The reader shares one `Arc<str>` between the samples of a tag: look each tag up once.
    let mut tags: HashMap<usize, Option<TagIndex>> = HashMap::new();
    let mut batch: Vec<Replayed> = Vec::with_capacity(batch_size);
    let mut open = true;
    reader
        .for_each_sample_while(&query, |s| {
            let key = Arc::as_ptr(&s.tag) as *const u8 as usize;
            let tag = *tags.entry(key).or_insert_with(|| plant.find_tag(&s.tag));
            let Some(tag) = tag else {
                return true;
            };
            if batch.len() >= batch_size && batch.last().is_some_and(|last| s.time > last.time) {
                let through = batch.last().map_or(to, |last| last.time);
                let full = std::mem::replace(&mut batch, Vec::with_capacity(batch_size));
                if batches
                    .blocking_send(Ok(ReplayBatch {
                        samples: full,
                        through,
                    }))
                    .is_err()
                {
                    open = false;
                    return false;
                }
            }
            batch.push(Replayed {
                tag,
                time: s.time,
                value: s.value.clone(),
                quality: s.quality,
            });
            true
        })
        .map_err(|e| e.to_string())?;
    if open {
        let _ = batches.blocking_send(Ok(ReplayBatch {
            samples: batch,
            through: to,
        }));
    }
    Ok(())
}
