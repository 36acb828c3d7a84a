"""CERC public-works survey intake: template, tolerant reader, validation, control report.

- ``template.write_template(path)``: the empty XLSX template (French) and its CSV twin;
- ``reader.read_survey(path)``: the answer sheets of a filled file, however it was laid out;
- ``validation.validate_file(path)``: every row checked, typed and turned into raw records;
- ``intake.ingest_survey(path)``: load into ``raw.cerc_survey_rows`` and write the report.
"""
