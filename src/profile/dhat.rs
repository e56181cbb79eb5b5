//! A profile in DHAT's JSON format (`dhatFileVersion` 2), which Valgrind's viewer
//! (`dh_view.html`) and dhat-rs read.
//!
//! # The format, as this module writes it
//! * Top level: `dhatFileVersion: 2`, `mode: "heap"`, `verb: "Allocated"`, `bklt: true` (block
//!   lifetimes are recorded), `bkacc: false` (reads and writes are not), `tu: "µs"` and
//!   `Mtu: "s"` (the time unit and its million: rates show per second), `tuth` (the
//!   short-lived threshold in `tu`), `cmd`, `pid`, `te` (the end time) and `tg` (the time of
//!   the global peak), `pps` (program points) and `ftbl` (the frame table).
//! * Each program point is one allocation site: `tb`/`tbk` bytes and blocks in total, `tl` the
//!   sum of block lifetimes (`tu`), `mb`/`mbk` at the site's own maximum, `gb`/`gbk` at the
//!   global peak, `eb`/`ebk` at the end, `fs` its frames as indexes into `ftbl`, innermost
//!   first. `ftbl[0]` is `"[root]"`; a frame is written as DHAT writes one:
//!   `0x4A1F1C7: main (test.c:11)`, or `(in /path/module)` without a file.
//! * The viewer builds a tree from the frame lists and rejects two points with equal lists.
//!   Two sites can end up with equal lists once the allocator's own frames are dropped (the
//!   same call reaching `malloc` by two paths): they are written as one point, their counters
//!   added (`mb`/`mbk` are then the sum of the two maxima, an upper bound).

use super::Profile;
use crate::report::{FixedHashMap, Frame};

/// The file version this module writes (and `dh_view.js` expects).
pub const FILE_VERSION: u64 = 2;

/// A frame as DHAT writes it.
pub fn frame_text(frame: &Frame) -> String {
    let function = frame.function.as_deref().unwrap_or("???");
    let place = match (&frame.file, frame.line, &frame.module) {
        (Some(file), Some(line), _) => format!("({file}:{line})"),
        (Some(file), None, _) => format!("({file})"),
        (None, _, Some(module)) => format!("(in {module})"),
        _ => String::from("(in ???)"),
    };
    format!("{:#X}: {function} {place}", frame.address)
}

#[derive(Default)]
struct Point {
    tb: u64,
    tbk: u64,
    tl: u64,
    mb: u64,
    mbk: u64,
    gb: u64,
    gbk: u64,
    eb: u64,
    ebk: u64,
}

/// The program points and the frame table of a profile.
struct Points {
    table: std::vec::Vec<String>,
    points: std::vec::Vec<(std::vec::Vec<usize>, Point)>,
}

fn micros(ns: u64) -> u64 {
    (ns + 500) / 1000
}

fn points(profile: &Profile) -> Points {
    let mut table: std::vec::Vec<String> = std::vec![String::from("[root]")];
    // Equal frames make equal texts: each distinct frame is written once.
    let mut of_frame: FixedHashMap<&Frame, usize> = FixedHashMap::default();
    let mut of_text: FixedHashMap<String, usize> = FixedHashMap::default();
    let mut points: std::vec::Vec<(std::vec::Vec<usize>, Point)> = std::vec::Vec::new();
    let mut point_of: FixedHashMap<std::vec::Vec<usize>, usize> = FixedHashMap::default();
    let mut index_of_text = |text: String, table: &mut std::vec::Vec<String>| {
        *of_text.entry(text.clone()).or_insert_with(|| {
            table.push(text);
            table.len() - 1
        })
    };
    for site in &profile.sites {
        let frames: std::vec::Vec<usize> = if site.frames.is_empty() {
            std::vec![index_of_text(String::from("[no stack trace]"), &mut table)]
        } else {
            site.frames
                .iter()
                .map(|frame| match of_frame.get(frame) {
                    Some(&index) => index,
                    None => {
                        let index = index_of_text(frame_text(frame), &mut table);
                        of_frame.insert(frame, index);
                        index
                    }
                })
                .collect()
        };
        let slot = *point_of.entry(frames.clone()).or_insert_with(|| {
            points.push((frames, Point::default()));
            points.len() - 1
        });
        let point = &mut points[slot].1;
        point.tb += site.total.bytes;
        point.tbk += site.total.blocks;
        point.tl += micros(site.lifetime_total_ns);
        point.mb += site.max.bytes;
        point.mbk += site.max.blocks;
        point.gb += site.at_peak.bytes;
        point.gbk += site.at_peak.blocks;
        point.eb += site.at_end.bytes;
        point.ebk += site.at_end.blocks;
    }
    Points { table, points }
}

/// The top-level fields before `pps` and `ftbl`.
fn header(profile: &Profile) -> serde_json::Value {
    serde_json::json!({
        "dhatFileVersion": FILE_VERSION,
        "mode": "heap",
        "verb": "Allocated",
        "bklt": true,
        "bkacc": false,
        "tu": "µs",
        "Mtu": "s",
        "tuth": micros(profile.short_lived_ns),
        "cmd": profile.command,
        "pid": profile.pid,
        "te": micros(profile.duration_ns),
        "tg": micros(profile.peak.time_ns),
    })
}

/// The profile in DHAT's format (see the module docs).
pub fn to_dhat(profile: &Profile) -> serde_json::Value {
    let Points { table, points } = points(profile);
    let pps: std::vec::Vec<serde_json::Value> = points
        .into_iter()
        .map(|(frames, p)| {
            serde_json::json!({
                "tb": p.tb, "tbk": p.tbk, "tl": p.tl,
                "mb": p.mb, "mbk": p.mbk,
                "gb": p.gb, "gbk": p.gbk,
                "eb": p.eb, "ebk": p.ebk,
                "fs": frames,
            })
        })
        .collect();
    let mut dhat = header(profile);
    dhat["pps"] = serde_json::Value::Array(pps);
    dhat["ftbl"] = serde_json::Value::from(table);
    dhat
}

/// Writes [`to_dhat`]'s JSON to `out` without building it in memory first (a profile of a
/// large program has tens of thousands of program points).
pub fn write(profile: &Profile, out: &mut impl std::io::Write) -> std::io::Result<()> {
    let Points { table, points } = points(profile);
    let header = header(profile).to_string();
    // The header object without its closing brace, then the two arrays.
    out.write_all(&header.as_bytes()[..header.len() - 1])?;
    out.write_all(b",\"pps\":[")?;
    for (i, (frames, p)) in points.iter().enumerate() {
        if i != 0 {
            out.write_all(b",")?;
        }
        write!(
            out,
            "{{\"tb\":{},\"tbk\":{},\"tl\":{},\"mb\":{},\"mbk\":{},\"gb\":{},\"gbk\":{},\"eb\":{},\"ebk\":{},\"fs\":[",
            p.tb, p.tbk, p.tl, p.mb, p.mbk, p.gb, p.gbk, p.eb, p.ebk
        )?;
        for (j, frame) in frames.iter().enumerate() {
            if j != 0 {
                out.write_all(b",")?;
            }
            write!(out, "{frame}")?;
        }
        out.write_all(b"]}")?;
    }
    out.write_all(b"],\"ftbl\":[")?;
    for (i, text) in table.iter().enumerate() {
        if i != 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, text)?;
    }
    out.write_all(b"]}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Counts, Site};

    fn frame(address: usize, function: &str, line: u32) -> Frame {
        Frame {
            address,
            function: Some(function.into()),
            file: Some("t.c".into()),
            line: Some(line),
            module: None,
            module_offset: None,
        }
    }

    #[test]
    fn equal_frame_lists_become_one_point_and_frames_are_shared() {
        let site = |bytes, frames| Site {
            total: Counts { blocks: 1, bytes },
            max: Counts { blocks: 1, bytes },
            frames,
            ..Site::default()
        };
        let profile = Profile {
            sites: std::vec![
                site(10, std::vec![frame(0x10, "f", 3), frame(0x20, "main", 9)]),
                site(20, std::vec![frame(0x10, "f", 3), frame(0x20, "main", 9)]),
                site(40, std::vec![frame(0x30, "g", 5), frame(0x20, "main", 9)]),
                site(1, std::vec![]),
            ],
            ..Profile::default()
        };
        let dhat = to_dhat(&profile);
        let pps = dhat["pps"].as_array().unwrap();
        assert_eq!(pps.len(), 3);
        assert_eq!(pps[0]["tb"], 30);
        assert_eq!(pps[0]["mbk"], 2);
        assert_eq!(pps[0]["fs"], serde_json::json!([1, 2]));
        assert_eq!(pps[1]["fs"], serde_json::json!([3, 2]));
        let table = dhat["ftbl"].as_array().unwrap();
        assert_eq!(table[0], "[root]");
        assert_eq!(table[1], "0x10: f (t.c:3)");
        assert_eq!(table[4], "[no stack trace]");
        let mut written = std::vec::Vec::new();
        write(&profile, &mut written).unwrap();
        let parsed: serde_json::Value = serde_json::from_slice(&written).unwrap();
        assert_eq!(parsed, dhat);
    }
}
