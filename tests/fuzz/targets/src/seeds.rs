//! Starting corpora for the fuzzer, made from the project's own test data and from well-formed frames
//! and runs, so that AFL begins from inputs that reach deep into each target. `run.sh` writes them,
//! AFL grows them, and `afl-cmin` keeps the few that cover what the rest do in `tests/data/fuzz/`.

use std::fs;
use std::io;
use std::path::Path;

use plantwatch_core::Table;
use plantwatch_history::codec::{encode_run, legacy_log_blob, LogBlobBuilder, Rec, RecValue};
use plantwatch_modbus::{plan_device, split_block, BadRanges, Block};

use crate::modbus_reply;

/// Writes seeds for every target into `out/<target>/`, reading config files from the repository at
/// `repo`.
pub fn write_all(repo: &Path, out: &Path) -> io::Result<()> {
    write_set(&out.join("modbus_reply"), modbus_replies())?;
    write_set(&out.join("history_codec"), history_runs())?;
    write_set(&out.join("config_text"), config_files(repo)?)?;
    Ok(())
}

fn write_set(dir: &Path, seeds: Vec<(String, Vec<u8>)>) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    for (name, bytes) in seeds {
        fs::write(dir.join(name), bytes)?;
    }
    Ok(())
}

/// The plant configs in the test data and the assets, valid and broken.
fn config_files(repo: &Path) -> io::Result<Vec<(String, Vec<u8>)>> {
    let folders = [
        "assets",
        "tests/data/config/valid",
        "tests/data/config/broken",
        "tests/data/collect",
        "tests/data/alarms",
        "tests/data/decode",
    ];
    let mut seeds = Vec::new();
    for folder in folders {
        for entry in fs::read_dir(repo.join(folder))? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "toml") {
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                let name = format!("{}-{}", folder.replace('/', "_"), name.unwrap_or_default());
                seeds.push((name, fs::read(&path)?));
            }
        }
    }
    Ok(seeds)
}

/// Runs of every kind of sample, alone and in log blobs.
fn history_runs() -> Vec<(String, Vec<u8>)> {
    let rec = |time, quality, value| Rec {
        time,
        quality,
        value,
    };
    let every_kind = vec![
        rec(1_764_000_000_000, 0, RecValue::Number(1.5)),
        rec(1_764_000_000_500, 0, RecValue::Number(1.5)),
        rec(1_764_000_001_000, 4096 + 5 * 256 + 2, RecValue::None),
        rec(1_764_000_002_000, 0, RecValue::Number(f64::NAN)),
        rec(1_764_000_003_000, 0, RecValue::Text("Auto ✓".into())),
        rec(1_764_000_004_000, 2 * 4096, RecValue::Number(-3.0)),
    ];
    let mut seeds = Vec::new();
    let mut run = Vec::new();
    encode_run(&every_kind, &mut run);
    seeds.push(("run-every-kind".to_string(), run));
    let runs = vec![
        (3, every_kind.clone()),
        (7, every_kind[..1].to_vec()),
        (16_384, Vec::new()),
    ];
    for (name, mut blob) in [
        ("stream", LogBlobBuilder::stream(1_764_000_000_000)),
        ("dense", LogBlobBuilder::dense(1_764_000_000_000)),
        ("compact", LogBlobBuilder::compact()),
    ] {
        for (tag, recs) in &runs {
            blob.add(*tag, recs);
        }
        seeds.push((format!("blob-three-tags-{name}"), blob.finish()));
    }
    seeds.push(("blob-three-tags".to_string(), legacy_log_blob(&runs)));
    // Bytes the round-trip half reads as a recipe: runs of 2 and 1 samples of each value kind.
    seeds.push((
        "recipe".to_string(),
        vec![
            0x12, 0x01, 0x10, 0x00, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0x43, 0xe8, 0x03, 0x02, 0x21,
            0x03, 0x01, 0x00, 3, b'o', b'n', b'!',
        ],
    ));
    seeds
}

/// Well-formed replies to every planned read of each device shape, in both framings, and replies that
/// make the reader split a block, report an exception or see the wrong transaction.
fn modbus_replies() -> Vec<(String, Vec<u8>)> {
    let mut seeds = Vec::new();
    for tcp in [true, false] {
        for table in [Table::Coil, Table::Discrete, Table::Input, Table::Holding] {
            let shape = modbus_reply::shape(tcp, table);
            let device = modbus_reply::device(shape);
            let blocks = plan_device(&device, &BadRanges::new());
            let framing = if tcp { "tcp" } else { "rtu" };
            let name = |what: &str| format!("{framing}-{}-{what}", table.name());

            let mut frames = Frames::new(tcp, device.unit, shape);
            for block in &blocks {
                frames.answer(block);
            }
            seeds.push((name("all-blocks"), frames.script));

            // Illegal data address for the first block, then both halves and the other blocks answered.
            if let Some((left, right)) = blocks.first().and_then(|b| split_block(b, &device)) {
                let mut frames = Frames::new(tcp, device.unit, shape);
                frames.exception(&blocks[0], 0x02);
                frames.answer(&left);
                frames.answer(&right);
                for block in &blocks[1..] {
                    frames.answer(block);
                }
                seeds.push((name("split"), frames.script));
            }

            let mut frames = Frames::new(tcp, device.unit, shape);
            frames.exception(&blocks[0], 0x04);
            seeds.push((name("device-failure"), frames.script));

            // A reply to someone else: a wrong transaction id on TCP, a damaged CRC on RTU.
            let mut frames = Frames::new(tcp, device.unit, shape);
            frames.transaction = 9;
            frames.answer(&blocks[0]);
            if !tcp {
                if let Some(last) = frames.script.last_mut() {
                    *last ^= 0x5a;
                }
            }
            seeds.push((name("not-mine"), frames.script));
        }
    }
    seeds
}

/// Builds a script of reply frames as the device would send them.
struct Frames {
    tcp: bool,
    unit: u8,
    /// The next MBAP transaction id (the client counts from 0).
    transaction: u16,
    script: Vec<u8>,
}

impl Frames {
    fn new(tcp: bool, unit: u8, shape: u8) -> Frames {
        Frames {
            tcp,
            unit,
            transaction: 0,
            script: vec![shape],
        }
    }

    /// A normal reply to a read of `block`, with values that differ from item to item.
    fn answer(&mut self, block: &Block) {
        let (function, data) = if block.table.is_bits() {
            let bytes = usize::from(block.count).div_ceil(8);
            let data: Vec<u8> = (0..bytes).map(|i| 0xa5 ^ i as u8).collect();
            (if block.table == Table::Coil { 1 } else { 2 }, data)
        } else {
            let data: Vec<u8> = (0..usize::from(block.count) * 2)
                .map(|i| (i * 37 + 0x41) as u8)
                .collect();
            (if block.table == Table::Holding { 3 } else { 4 }, data)
        };
        let mut pdu = vec![function, data.len() as u8];
        pdu.extend_from_slice(&data);
        self.frame(&pdu);
    }

    fn exception(&mut self, block: &Block, code: u8) {
        let function = match block.table {
            Table::Coil => 1,
            Table::Discrete => 2,
            Table::Holding => 3,
            Table::Input => 4,
        };
        self.frame(&[function | 0x80, code]);
    }

    fn frame(&mut self, pdu: &[u8]) {
        let mut frame = Vec::new();
        if self.tcp {
            frame.extend_from_slice(&self.transaction.to_be_bytes());
            frame.extend_from_slice(&[0, 0]);
            frame.extend_from_slice(&(pdu.len() as u16 + 1).to_be_bytes());
            frame.push(self.unit);
            frame.extend_from_slice(pdu);
        } else {
            frame.push(self.unit);
            frame.extend_from_slice(pdu);
            let crc = crc16(&frame);
            frame.extend_from_slice(&crc.to_le_bytes());
        }
        self.transaction = self.transaction.wrapping_add(1);
        // A script piece is at most 255 bytes; a longer frame is cut (and is then a malformed reply).
        let piece = &frame[..frame.len().min(255)];
        self.script.push(piece.len() as u8);
        self.script.extend_from_slice(piece);
    }
}

/// The Modbus RTU CRC (polynomial 0xA001, reflected, initial 0xFFFF), sent low byte first.
fn crc16(bytes: &[u8]) -> u16 {
    let mut crc = 0xffffu16;
    for &b in bytes {
        crc ^= u16::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                crc >> 1 ^ 0xa001
            } else {
                crc >> 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_replies_decode_every_tag_and_the_others_do_not_panic() {
        for (name, bytes) in modbus_replies() {
            let decoded = modbus_reply::values_decoded(&bytes);
            let device = modbus_reply::device(bytes[0]);
            if name.ends_with("all-blocks") || name.ends_with("split") {
                assert_eq!(decoded, device.tags.len(), "{name}: every tag decoded");
            } else {
                assert_eq!(decoded, 0, "{name}: nothing decoded");
            }
        }
    }

    #[test]
    fn every_seed_goes_through_its_target() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..");
        let dir =
            std::env::temp_dir().join(format!("plantwatch-fuzz-seeds-{}", std::process::id()));
        write_all(&repo, &dir).expect("seeds are written");
        for (target, run) in crate::TARGETS {
            let seeds: Vec<_> = fs::read_dir(dir.join(target))
                .expect("a seed folder")
                .collect();
            assert!(seeds.len() >= 3, "{target}: {} seeds", seeds.len());
            for seed in seeds {
                run(&fs::read(seed.expect("an entry").path()).expect("a seed"));
            }
        }
        fs::remove_dir_all(&dir).expect("the seeds are removed");
    }
}
