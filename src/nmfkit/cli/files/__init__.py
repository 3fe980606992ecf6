"""Reading a data matrix and writing results for the command line, with one-line errors.

Input formats, chosen by extension (read_matrix):
- .npy            a 2-D numeric NumPy array (no pickles);
- .npz            a scipy.sparse matrix saved with scipy.sparse.save_npz, or an np.savez archive
                  holding one 2-D array (or several, one of them named X, V or data), with
                  optional 1-D string arrays row_labels and column_labels;
- .mtx            MatrixMarket (also .mtx.gz), coordinate or array;
- .csv .tsv .txt  a delimited text table, read by the rules of `read_text`, which follow
                  the files that R (write.csv, write.table), pandas (to_csv) and NumPy
                  (savetxt) write.

Every problem raises InputError (a ValueError) whose message names the file and says what is
wrong in one line. Outputs (`output_files`, `write_factors`, `write_table`): the format is
chosen by the extension and checked before any work, so a long fit never ends in an
unwritable file; a problem raises OutputError.

The modules: formats (the extensions, DataFile), errors, reader (read_matrix and the checks
of the matrix), binary (.npy, .npz, .mtx), text (read_text: the table's rules), lines and
cells (the rules for lines and for single fields of a text table), writer (the outputs).
"""

from .cells import MISSING
from .errors import InputError, OutputError
from .formats import FORMATS, TEXT_FORMATS, DataFile
from .reader import read_matrix
from .text import read_text
from .writer import check_writable, component_labels, output_files, write_factors, write_table

__all__ = ["InputError", "OutputError", "DataFile", "read_matrix", "read_text", "output_files",
           "check_writable", "write_factors", "write_table", "FORMATS", "TEXT_FORMATS",
           "MISSING", "component_labels"]
