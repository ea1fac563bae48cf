"""Failed and stuck work for ops: one list, retry or discard each item, every action audited."""
