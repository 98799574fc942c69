//! Reading a planned block, splitting it when the device refuses it (exception 02 or 03), and learning
//! from the refusals so that the next plan avoids them.

use std::time::Duration;

use plantwatch_core::Device;

use crate::link::{Connection, LinkError, Payload};
use crate::plan::{split_block, BadRanges, Block};

/// The outcome of one (sub-)block: its payload, or the exception code the device answered.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockRead {
    pub block: Block,
    pub result: Result<Payload, u8>,
}

/// Reads `block` of `device`. On exception 02 or 03 the block is split into halves and each is read
/// in turn, down to single tags; a single tag the device still refuses is marked in `bad` (its tags are
/// unreadable: quality bad, cause configuration) and comes back with its exception code. When both
/// halves of a refused block read fine, `bad` learns why (see [`BadRanges::learn_from_split`]).
/// Other exceptions (01, 04, 06, 0B, ...) come back for the whole block without splitting.
///
/// A link error ends the whole read: the connection is poisoned and the caller reopens it.
pub async fn read_block(
    connection: &mut Connection,
    device: &Device,
    block: &Block,
    bad: &mut BadRanges,
    timeout: Duration,
) -> Result<Vec<BlockRead>, LinkError> {
    let mut done = Vec::new();
    read_into(connection, device, block.clone(), bad, timeout, &mut done).await?;
    Ok(done)
}

/// Depth-first over the halves; boxed because async recursion needs a known future size.
fn read_into<'a>(
    connection: &'a mut Connection,
    device: &'a Device,
    block: Block,
    bad: &'a mut BadRanges,
    timeout: Duration,
    done: &'a mut Vec<BlockRead>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), LinkError>> + Send + 'a>> {
    Box::pin(async move {
        let result = connection
            .read(device.unit, block.table, block.start, block.count, timeout)
            .await?;
        match result {
            Err(code @ (0x02 | 0x03)) => match split_block(&block, device) {
                Some((left, right)) => {
                    let before = done.len();
                    read_into(connection, device, left.clone(), bad, timeout, done).await?;
                    read_into(connection, device, right.clone(), bad, timeout, done).await?;
                    if done[before..].iter().all(|read| read.result.is_ok()) {
                        bad.learn_from_split(&block, &left, &right);
                    }
                }
                None => {
                    bad.mark(block.table, block.start, block.count);
                    done.push(BlockRead {
                        block,
                        result: Err(code),
                    });
                }
            },
            result => done.push(BlockRead { block, result }),
        }
        Ok(())
    })
}
