"""Where the data is processed: in memory with pandas, or partitioned on a Dask cluster."""
