//! Reading the gap back from the history: every stored sample in `(from, to]` as slices of time
//! ([`HistoryReader::sweep`]: one read of each chunk, no per-tag cursor), on a blocking thread with a
//! bounded channel (the session takes a batch only when its window has room, so the reader never runs
//! ahead of the broker). A batch is one slice: every sample in `(previous through, through]`, grouped by
//! tag (a device's tags together), each tag's samples in time order.

use std::path::PathBuf;
use std::sync::Arc;

use plantwatch_core::{Plant, TagIndex, Timestamp};
use plantwatch_history::{HistoryReader, Swept};
use tokio::sync::mpsc;

/// One sample read back.
pub type Replayed = Swept<TagIndex>;

/// Every stored sample in (the previous batch's `through`, `through`].
#[derive(Debug, Clone)]
pub struct ReplayBatch {
    pub samples: Vec<Replayed>,
    pub through: Timestamp,
}

/// Streams `(from, to]` of the history at `history` into `batches`, about `batch_size` samples a
/// batch. The last batch ends at `to` (it may be empty). Samples of tags the plant no longer has are
/// not read. Stops early when the receiver is dropped. Errors are sent as text.
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
    reader
        .sweep(
            from.add_millis(1),
            to.add_millis(1),
            batch_size,
            |full_id| plant.find_tag(full_id),
            |samples, through| {
                batches
                    .blocking_send(Ok(ReplayBatch {
                        samples: samples.to_vec(),
                        through,
                    }))
                    .is_ok()
            },
        )
        .map_err(|e| e.to_string())?;
    Ok(())
}
