"""Publication: open datasets (CSV + Frictionless datapackage.json) to a local folder and to CKAN."""
