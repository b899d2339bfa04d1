"""Offline reports: self-contained HTML (+ JSON) per recording, and batch summaries.

* ``offline`` – ``analyze_with_report``: the lockstep pipeline + thumbnails + report;
* ``html``    – facts (verdict, flagged periods, what could not be judged) and the page;
* ``plots``   – the matplotlib timeline (PNG, embedded as a data: URI);
* ``thumbs``  – thumbnails of flagged moments, collected during the analysis;
* ``batch``   – ``analyze DIR``: two worker processes, resumable, summary.csv + summary.html.
"""
