"""Customers in and out of spreadsheets: the rules behind ``wecrm import`` and
``wecrm export`` (and any later chat command that takes a file).

One column set both ways — 姓名, 公司, 行业, 规模, 类别, 等级, 生命周期, 电话, 地址,
生日, 负责人, 备注 — so an export can be edited in Excel and imported again.

Import, row by row:

* every cell goes through the parsers the chat uses (``bot.parsing``): a row with
  any invalid cell is skipped with all its reasons, never saved half-read;
* a row is the same customer as an existing one when the phone matches (keyed hash,
  nothing decrypted), else when name and company are the same and the phones do not
  contradict each other (two people with different phones are two people);
* the second row of a file naming a customer already named by an earlier row is
  skipped as a duplicate, by the same rule, so a file never updates a customer twice;
* the whole file is one transaction: a real run is all or nothing, and a dry run is
  the same run rolled back, so its report is by construction the one a real run gives.

Reading accepts .xlsx (openpyxl) and .csv in UTF-8 (with or without BOM) or GB18030,
the encoding Chinese Excel writes "CSV" in. A file that cannot be read raises
:class:`CustomerFileError` with one line in Chinese for the user.
"""
