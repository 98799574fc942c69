//! The report as an Excel workbook (rust_xlsxwriter): a sheet per table, numbers as numbers, and the
//! period and notes on a first sheet.

use rust_xlsxwriter::{Format, Workbook};

use crate::tables::{self, Cell};
use crate::Report;

pub fn render(report: &Report) -> Result<Vec<u8>, String> {
    let err = |e: rust_xlsxwriter::XlsxError| e.to_string();
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let (title, lines) = tables::heading(report);
    let cover = book.add_worksheet();
    cover.set_name("Report").map_err(err)?;
    cover
        .write_string_with_format(0, 0, &title, &bold)
        .map_err(err)?;
    let mut r = 1;
    for line in &lines {
        cover.write_string(r, 0, line).map_err(err)?;
        r += 1;
    }
    let all = tables::tables(report);
    for table in &all {
        for note in &table.notes {
            cover.write_string(r, 0, note).map_err(err)?;
            r += 1;
        }
    }
    for table in &all {
        let sheet = book.add_worksheet();
        sheet.set_name(table.sheet).map_err(err)?;
        for (c, h) in table.header.iter().enumerate() {
            sheet
                .write_string_with_format(0, c as u16, h, &bold)
                .map_err(err)?;
        }
        for (i, row) in table.rows.iter().enumerate() {
            let r = i as u32 + 1;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match cell {
                    Cell::Text(t) => sheet.write_string(r, c, t).map(|_| ()),
                    Cell::Number(v, _) => sheet.write_number(r, c, *v).map(|_| ()),
                    Cell::Empty => Ok(()),
                }
                .map_err(err)?;
            }
        }
        let below = table.rows.len() as u32 + 2;
        for (i, note) in table.notes.iter().enumerate() {
            sheet.write_string(below + i as u32, 0, note).map_err(err)?;
        }
        sheet.autofit();
    }
    book.save_to_buffer().map_err(err)
}
