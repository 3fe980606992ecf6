"""Writes the pandas and NumPy fixture files of this folder with those libraries' own writers.

Run from this folder: python make_python_files.py
"""

import numpy as np
import pandas as pd

V = np.array([[1, 3, 7], [0, 4, 0.001], [2.5, 10, 6], [0.125, 0.5, 8]])
ROWS = ["gene A", "b,c", 'q"x', "Z\u00fcrich"]
COLS = ["s1", "s 2", "2021"]
NA = V.copy()
NA[1, 0] = NA[3, 2] = NA[0, 0] = np.nan  # first and last column: leading and trailing empty fields

df = pd.DataFrame(V, index=ROWS, columns=COLS)
df.to_csv("pd_to_csv.csv")
df.to_csv("pd_to_csv_index_false.csv", index=False)
df.to_csv("pd_to_csv_semicolon.csv", sep=";")
df.to_csv("pd_to_csv_tab.tsv", sep="\t")
df.to_csv("pd_to_csv_bom_crlf.csv", encoding="utf-8-sig", lineterminator="\r\n")
pd.DataFrame(NA, index=ROWS, columns=COLS).to_csv("pd_to_csv_nan.csv")
pd.DataFrame(NA, columns=COLS).to_csv("pd_to_csv_nan_index_false.csv", index=False)
pd.DataFrame(V).to_csv("pd_to_csv_range_index.csv")
pd.DataFrame(V, columns=[2019, 2020, 2021]).to_csv("pd_to_csv_years.csv", index=False)
named = df.copy()
named.index.name = "gene"
named.to_csv("pd_to_csv_named_index.csv")

np.savetxt("np_savetxt_comma.csv", V, delimiter=",")
np.savetxt("np_savetxt_header.csv", V, delimiter=",", header="s1,s 2,2021")
np.savetxt("np_savetxt_default.txt", V)
np.savetxt("np_savetxt_nan.csv", NA, delimiter=",", header="s1,s 2,2021")
np.savetxt("np_savetxt_note.csv", V, delimiter=",", header="exported by lab 3, run 7")
np.savetxt("np_savetxt_footer.csv", V, delimiter=",", footer="end of export")
np.savetxt("np_savetxt_fmt.csv", V, delimiter=",", fmt="%.6f")
