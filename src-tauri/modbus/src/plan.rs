//! Request planning: which reads cover the tags of a device. Pure functions, no I/O.
//!
//! Tags of one table are merged into a [`Block`] while the unused addresses between them stay within
//! the device's `max_gap` and the block stays within `max_block` and the protocol limit (125 registers
//! for FC3/FC4, 2000 bits for FC1/FC2). For the bit tables `max_block` and `max_gap` count in
//! registers' worth of bits: a block spans at most `max_block * 16` bits (capped at 2000) and a gap at
//! most `max_gap * 16` bits. Overlapping tags share the block.
//!
//! What the device refused at run time (exception 02 or 03) is kept in [`BadRanges`]: tags inside a
//! refused range are left out of the plan, no block spans a refused range, and a device that refuses
//! large reads gets a learned cap on the block size.

use std::collections::BTreeMap;

use plantwatch_core::{Device, Table};

/// Most registers FC3/FC4 may ask for.
pub const MAX_REGISTERS: u16 = 125;
/// Most bits FC1/FC2 may ask for.
pub const MAX_BITS: u16 = 2000;

/// One read request: `count` items of `table` from `start`, covering some tags of a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub table: Table,
    pub start: u16,
    /// Registers for register tables, bits for bit tables.
    pub count: u16,
    /// Positions in `device.tags` of the tags this block covers, in address order.
    pub tags: Vec<u32>,
}

impl Block {
    /// One past the last address of the block.
    pub fn end(&self) -> u32 {
        u32::from(self.start) + u32::from(self.count)
    }

    /// Where a tag's items lie inside this block's payload (`offset .. offset + width`), or `None`
    /// when the tag is not inside the block.
    pub fn slot(&self, tag: &plantwatch_core::Tag) -> Option<std::ops::Range<usize>> {
        let start = tag.address.checked_sub(self.start)?;
        let end = u32::from(tag.address) + u32::from(tag.width());
        if tag.table != self.table || end > self.end() {
            return None;
        }
        Some(usize::from(start)..usize::from(start) + usize::from(tag.width()))
    }
}

/// What one device refused, per table: address ranges (exception 02 or 03 for a block holding a
/// single tag, or a gap between tags) and, when the device refuses reads that are simply too large,
/// a learned cap on the block size. Learned at run time; starts empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BadRanges {
    /// Per table: start -> end (exclusive) of refused ranges, kept disjoint and merged.
    ranges: BTreeMap<Table, BTreeMap<u32, u32>>,
    caps: BTreeMap<Table, u16>,
}

impl BadRanges {
    /// Nothing refused yet.
    pub fn new() -> BadRanges {
        BadRanges::default()
    }

    /// True when nothing has been refused.
    pub fn is_empty(&self) -> bool {
        self.ranges.values().all(BTreeMap::is_empty) && self.caps.is_empty()
    }

    /// Remembers that the device refuses `count` items of `table` from `start`.
    pub fn mark(&mut self, table: Table, start: u16, count: u16) {
        if count == 0 {
            return;
        }
        let ranges = self.ranges.entry(table).or_default();
        let mut lo = u32::from(start);
        let mut hi = lo + u32::from(count);
        // Absorb every range that touches [lo, hi) so the map stays disjoint.
        let touching: Vec<(u32, u32)> = ranges
            .range(..=hi)
            .filter(|&(_, &e)| e >= lo)
            .map(|(&s, &e)| (s, e))
            .collect();
        for (s, e) in touching {
            ranges.remove(&s);
            lo = lo.min(s);
            hi = hi.max(e);
        }
        ranges.insert(lo, hi);
    }

    /// Remembers that the device refuses reads of `table` longer than `cap` items.
    pub fn limit(&mut self, table: Table, cap: u16) {
        let cap = cap.max(1);
        let entry = self.caps.entry(table).or_insert(cap);
        *entry = (*entry).min(cap);
    }

    /// The learned cap on reads of `table`, if any.
    pub fn cap(&self, table: Table) -> Option<u16> {
        self.caps.get(&table).copied()
    }

    /// True when `[start, start + count)` of `table` touches a refused range.
    pub fn overlaps(&self, table: Table, start: u16, count: u16) -> bool {
        let lo = u32::from(start);
        let hi = lo + u32::from(count);
        self.ranges
            .get(&table)
            .is_some_and(|ranges| ranges.range(..hi).next_back().is_some_and(|(_, &e)| e > lo))
    }

    /// The refused ranges of a table, as (start, end exclusive).
    pub fn ranges(&self, table: Table) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.ranges
            .get(&table)
            .into_iter()
            .flat_map(|r| r.iter().map(|(&s, &e)| (s, e)))
    }

    /// Learns from a block the device refused (02 or 03) whose two halves were then both read: the
    /// refusal came from the unused addresses between the halves when there are some (marked bad), or
    /// else from the size of the read (the table gets a cap).
    pub fn learn_from_split(&mut self, whole: &Block, left: &Block, right: &Block) {
        let (first, second) = if left.start <= right.start {
            (left, right)
        } else {
            (right, left)
        };
        if first.end() < u32::from(second.start) {
            let gap_start = first.end() as u16;
            self.mark(whole.table, gap_start, second.start - gap_start);
        } else {
            // Both halves were read, so their size is known to work.
            self.limit(whole.table, left.count.max(right.count));
        }
    }
}

/// The largest block a table allows on this device: the device's cap, the learned cap, and the
/// protocol limit.
pub fn block_limit(device: &Device, table: Table, bad: &BadRanges) -> u16 {
    let configured = if table.is_bits() {
        (u32::from(device.max_block) * 16).min(u32::from(MAX_BITS)) as u16
    } else {
        device.max_block.min(MAX_REGISTERS)
    };
    let learned = bad.cap(table).unwrap_or(u16::MAX);
    configured.min(learned).max(1)
}

fn gap_limit(device: &Device, table: Table) -> u32 {
    if table.is_bits() {
        u32::from(device.max_gap) * 16
    } else {
        u32::from(device.max_gap)
    }
}

/// Coalesces the tags of a device into as few reads as the limits allow. Tags inside a refused range
/// are left out (the caller marks them bad, cause configuration); no block spans a refused range.
/// Blocks come out per table (coil, discrete, input, holding), in address order.
pub fn plan_device(device: &Device, bad: &BadRanges) -> Vec<Block> {
    let mut order: Vec<u32> = (0..device.tags.len() as u32)
        .filter(|&i| {
            let tag = &device.tags[i as usize];
            !bad.overlaps(tag.table, tag.address, tag.width())
        })
        .collect();
    order.sort_by_key(|&i| {
        let tag = &device.tags[i as usize];
        (tag.table, tag.address, tag.width())
    });

    let mut blocks: Vec<Block> = Vec::new();
    for i in order {
        let tag = &device.tags[i as usize];
        let start = u32::from(tag.address);
        let end = start + u32::from(tag.width());
        if let Some(block) = blocks.last_mut() {
            if block.table == tag.table {
                let merged_end = block.end().max(end);
                let gap = start.saturating_sub(block.end());
                let count = merged_end - u32::from(block.start);
                if gap <= gap_limit(device, tag.table)
                    && count <= u32::from(block_limit(device, tag.table, bad))
                    && !bad.overlaps(tag.table, block.start, count as u16)
                {
                    block.count = count as u16;
                    block.tags.push(i);
                    continue;
                }
            }
        }
        // A tag wider than the limit still gets a block of its own: the device decides.
        blocks.push(Block {
            table: tag.table,
            start: tag.address,
            count: tag.width(),
            tags: vec![i],
        });
    }
    blocks
}

/// Splits a block the device refused into two halves (by tags, never cutting a tag), each as tight
/// as its tags allow. `None` when the block holds a single tag (or tags all at one address): then the
/// block itself is unreadable.
pub fn split_block(block: &Block, device: &Device) -> Option<(Block, Block)> {
    let mut tags = block.tags.clone();
    tags.sort_by_key(|&i| device.tags[i as usize].address);
    let first_address = device.tags[*tags.first()? as usize].address;
    // Split at the tag boundary nearest the middle of the tags that start at distinct addresses.
    let distinct_from = tags
        .iter()
        .position(|&i| device.tags[i as usize].address != first_address)?;
    let mid = (tags.len() / 2).max(distinct_from);
    let tight = |part: &[u32]| {
        let start = part
            .iter()
            .map(|&i| device.tags[i as usize].address)
            .min()
            .unwrap_or(block.start);
        let end = part
            .iter()
            .map(|&i| {
                let tag = &device.tags[i as usize];
                u32::from(tag.address) + u32::from(tag.width())
            })
            .max()
            .unwrap_or(u32::from(start));
        Block {
            table: block.table,
            start,
            count: (end - u32::from(start)) as u16,
            tags: part.to_vec(),
        }
    };
    Some((tight(&tags[..mid]), tight(&tags[mid..])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marked_ranges_merge_and_overlap() {
        let mut bad = BadRanges::new();
        bad.mark(Table::Input, 10, 2);
        bad.mark(Table::Input, 12, 3);
        assert_eq!(bad.ranges(Table::Input).collect::<Vec<_>>(), vec![(10, 15)]);
        assert!(bad.overlaps(Table::Input, 14, 1));
        assert!(!bad.overlaps(Table::Input, 15, 5));
        assert!(!bad.overlaps(Table::Holding, 10, 5));
        assert!(bad.overlaps(Table::Input, 0, 11));
    }
}
