"""The records contract: what a force's records must look like, and how they are checked.

- :mod:`features.records.schema`: the declaration of the four tables (persons, events, offences,
  protected), their columns, types and rules, and the validated :class:`~features.records.schema.Records`;
- :mod:`features.records.parsing`: text cells to typed columns (dates, numbers, flags);
- :mod:`features.records.validate`: raw tables against the declaration, bad rows quarantined with
  their reason;
- :mod:`features.records.offences`: the offence catalogue, from CCHI subgroup medians or a force's
  per-code table, in the contract's layout;
- :mod:`features.records.contract_doc`: docs/data-contract.md, generated from the declaration.

Pure computation on frames: :mod:`scoring.records` reads the files.
"""
