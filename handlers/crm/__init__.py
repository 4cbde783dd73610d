"""The CRM: HubSpot two-way sync and CSV import."""
