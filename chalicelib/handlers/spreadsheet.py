"""The KPI report as an XLSX workbook (openpyxl): one sheet per tier, agencies in rank order, each figure with its
target, misses highlighted, and a chart of each agency's online share against its target.

openpyxl is imported by the functions that draw, not by the module: the API function imports this module at every
cold start, and openpyxl (about a seventh of that import) is needed only by the rare export.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from chalicelib.domain.targets import FIGURES

if TYPE_CHECKING:
    from openpyxl import Workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

TITLES = {  # the figures' names as the province's reports print them
    "online_share": "Hồ sơ nộp trực tuyến",
    "transactions_online_share": "Giao dịch thanh toán trực tuyến",
    "fee_procedures_payable_online_share": "TTHC có phí thanh toán trực tuyến được",
    "procedures_paid_online_share": "TTHC có ≥ 1 thanh toán trực tuyến",
    "dossiers_paid_online_share": "Hồ sơ thanh toán trực tuyến",
    "procedures_online_share": "TTHC cung cấp DVCTT",
}
TIER_TITLES = {"department": "Sở, ban, ngành", "district": "Cấp huyện", "commune": "Cấp xã"}
MISSED_COLOUR, MET_COLOUR = "F8CBAD", "C6EFCE"


def workbook(rankings: Sequence[dict[str, Any]]) -> bytes:
    """The workbook of `rankings` (each a report's `ranking` block, one tier each), as XLSX bytes."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for ranking in rankings:
        _sheet(book, ranking)
    if not book.worksheets:
        book.create_sheet("Không có dữ liệu")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet(book: Workbook, ranking: dict[str, Any]) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    missed, met = PatternFill("solid", fgColor=MISSED_COLOUR), PatternFill("solid", fgColor=MET_COLOUR)
    sheet = book.create_sheet(TIER_TITLES.get(ranking["tier"], ranking["tier"])[:31])
    sheet.append([f"{ranking['root']['name']} – {TIER_TITLES.get(ranking['tier'], ranking['tier'])} – kỳ "
                  f"{ranking['period']}"])
    sheet["A1"].font = Font(bold=True, size=13)
    header = ["Hạng", "Mã cơ quan", "Tên cơ quan"]
    for name in FIGURES:
        header += [f"{TITLES[name]} (%)", "Chỉ tiêu (%)"]
    sheet.append(header)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in ranking["agencies"]:
        targets = {t["figure"]: t for t in row["targets"]}
        line: list[Any] = [row["figures"]["online_share"]["rank"], row["agency"]["code"], row["agency"]["name"]]
        for name in FIGURES:
            target = targets.get(name)
            line += [row["figures"][name]["percent"], target["minimum_percent"] if target else None]
        sheet.append(line)
        for index, name in enumerate(FIGURES):
            target = targets.get(name)
            if target is None or target["met"] is None:
                continue
            cell = sheet.cell(row=sheet.max_row, column=4 + 2 * index)
            cell.fill = met if target["met"] else missed
    sheet.column_dimensions["A"].width = 6
    sheet.column_dimensions["B"].width = 13
    sheet.column_dimensions["C"].width = 36
    for column in range(4, 4 + 2 * len(FIGURES)):
        sheet.column_dimensions[get_column_letter(column)].width = 14
    sheet.freeze_panes = "D3"
    if ranking["agencies"]:
        _chart(sheet, len(ranking["agencies"]))


def _chart(sheet: Any, rows: int) -> None:
    """Bars: each agency's online share; a line: its target."""
    from openpyxl.chart import BarChart, LineChart, Reference

    first, last = 3, 2 + rows
    bars = BarChart()
    bars.title = "Tỷ lệ hồ sơ nộp trực tuyến so với chỉ tiêu"
    bars.y_axis.title = "%"
    bars.add_data(Reference(sheet, min_col=4, min_row=2, max_row=last), titles_from_data=True)
    bars.set_categories(Reference(sheet, min_col=2, min_row=first, max_row=last))
    target = LineChart()
    target.add_data(Reference(sheet, min_col=5, min_row=2, max_row=last), titles_from_data=True)
    bars += target
    bars.height, bars.width = 9, max(16, rows * 0.6)
    sheet.add_chart(bars, f"B{last + 3}")
