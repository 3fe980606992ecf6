# Writes the R fixture files of this folder with R's own writers, each with its defaults
# unless named. Run from this folder: LANG=C.UTF-8 Rscript make_r_files.R
m <- matrix(c(1, 0, 2.5, 0.125, 3, 4, 10, 0.5, 7, 0.001, 6, 8), nrow = 4, ncol = 3,
            dimnames = list(c("gene A", "b,c", "q\"x", "Z\u00fcrich"), c("s1", "s 2", "2021")))
na <- m
na[2, 1] <- NA
na[4, 3] <- NA
write.csv(m, "r_write_csv.csv")
write.csv(na, "r_write_csv_na.csv")
write.csv(unname(m), "r_write_csv_unnamed.csv")
write.csv(m, "r_write_csv_no_row_names.csv", row.names = FALSE)
write.csv(m, "r_write_csv_crlf.csv", eol = "\r\n")
write.csv2(m, "r_write_csv2.csv")
write.table(m, "r_write_table.txt")
write.table(m, "r_write_table_tab.tsv", sep = "\t")
write.table(na, "r_write_table_na.txt")
