"""The health needs assessment report: HTML and PDF from the store, disclosure-controlled."""
