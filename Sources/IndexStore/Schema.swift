/// The index's schema, as named migrations applied in order. `PRAGMA user_version` holds the
/// number of migrations applied; readers refuse an index newer than they know.
///
/// The full description, with example queries, is in `indexes/README.md`.
enum Schema {
    static var version: Int { migrations.count }

    /// Migration 1: the first schema. N-gram tables are created per order by `ngramTableSQL`.
    static let migrations: [(name: String, sql: String)] = [
        ("v1-initial", """
        CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE sources(
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL,
            size INTEGER NOT NULL,
            checksum TEXT NOT NULL,
            container TEXT NOT NULL,
            format TEXT NOT NULL,
            shard TEXT NOT NULL,
            docs INTEGER NOT NULL,
            tokens INTEGER NOT NULL,
            bytes_decompressed INTEGER NOT NULL,
            lines INTEGER NOT NULL,
            blank_lines INTEGER NOT NULL,
            replaced_invalid_utf8 INTEGER NOT NULL,
            skipped_unreadable INTEGER NOT NULL,
            skipped_truncated INTEGER NOT NULL,
            skipped_corrupt INTEGER NOT NULL,
            skipped_empty_file INTEGER NOT NULL,
            skipped_invalid_json INTEGER NOT NULL,
            skipped_missing_field INTEGER NOT NULL,
            skipped_field_not_string INTEGER NOT NULL,
            skipped_line_too_long INTEGER NOT NULL,
            incomplete INTEGER NOT NULL,
            indexed_at TEXT NOT NULL);
        CREATE TABLE vocab(id INTEGER PRIMARY KEY, token TEXT NOT NULL, count INTEGER NOT NULL, df INTEGER NOT NULL);
        CREATE TABLE order_stats(n INTEGER PRIMARY KEY, occurrences INTEGER NOT NULL, types INTEGER NOT NULL,
            stored INTEGER NOT NULL, hapax INTEGER NOT NULL);
        CREATE TABLE count_of_counts(n INTEGER NOT NULL, count INTEGER NOT NULL, types INTEGER NOT NULL,
            PRIMARY KEY(n, count)) WITHOUT ROWID;
        CREATE TABLE top_ngrams(n INTEGER NOT NULL, rank INTEGER NOT NULL, ngram TEXT NOT NULL,
            count INTEGER NOT NULL, df INTEGER NOT NULL, PRIMARY KEY(n, rank)) WITHOUT ROWID;
        """),
        // Migration 2: counts from targeted passes over the corpus (`tailscope cooccur`): terms
        // longer than the index's orders, and question-answer co-occurrence.
        ("v2-targeted", """
        CREATE TABLE targeted_runs(id INTEGER PRIMARY KEY, window INTEGER NOT NULL, question_terms TEXT NOT NULL,
            eval TEXT NOT NULL, corpus TEXT NOT NULL, docs INTEGER NOT NULL, tokens INTEGER NOT NULL,
            terms INTEGER NOT NULL, pairs INTEGER NOT NULL, questions INTEGER NOT NULL, created_at TEXT NOT NULL);
        CREATE TABLE targeted_terms(run INTEGER NOT NULL, term TEXT NOT NULL, n INTEGER NOT NULL,
            count INTEGER NOT NULL, df INTEGER NOT NULL, PRIMARY KEY(run, term)) WITHOUT ROWID;
        CREATE TABLE cooccur_pairs(run INTEGER NOT NULL, qterm TEXT NOT NULL, answer TEXT NOT NULL,
            docs INTEGER NOT NULL, window_count INTEGER NOT NULL, PRIMARY KEY(run, qterm, answer)) WITHOUT ROWID;
        CREATE TABLE cooccur_questions(run INTEGER NOT NULL, signature TEXT NOT NULL,
            docs INTEGER NOT NULL, window_count INTEGER NOT NULL, PRIMARY KEY(run, signature)) WITHOUT ROWID;
        """),
        // Migration 3: co-occurrence pairs are keyed by what they count, the full alias lists of
        // the question term and of the answer (`|`-separated, first spelling first). Version 2
        // keyed them by the first spellings only, which summed questions that share a term and
        // the first spelling of their answer but have other aliases; those rows are dropped.
        ("v3-pairs-by-aliases", """
        CREATE TABLE cooccur_pairs_v3(run INTEGER NOT NULL, qterm TEXT NOT NULL, answer TEXT NOT NULL,
            qterm_aliases TEXT NOT NULL, answer_aliases TEXT NOT NULL, docs INTEGER NOT NULL, window_count INTEGER NOT NULL,
            PRIMARY KEY(run, qterm_aliases, answer_aliases)) WITHOUT ROWID;
        DROP TABLE cooccur_pairs;
        ALTER TABLE cooccur_pairs_v3 RENAME TO cooccur_pairs;
        UPDATE targeted_runs SET pairs = 0;
        """),
    ]

    static func ngramTableSQL(order n: Int) -> String {
        let cols = (1...n).map { "w\($0) INTEGER NOT NULL" }.joined(separator: ", ")
        let key = (1...n).map { "w\($0)" }.joined(separator: ", ")
        return "CREATE TABLE ngram\(n)(\(cols), count INTEGER NOT NULL, df INTEGER NOT NULL, PRIMARY KEY(\(key))) WITHOUT ROWID;"
    }

    /// A view per order that spells n-grams out as text, and `ngrams` over all orders.
    static func viewsSQL(maxOrder: Int) -> String {
        var sql = ""
        var unions = ["SELECT 1 AS n, token AS ngram, count, df FROM vocab"]
        for n in 2...max(2, maxOrder) where n <= maxOrder {
            let text = (1...n).map { "v\($0).token" }.joined(separator: " || ' ' || ")
            let joins = (1...n).map { "JOIN vocab v\($0) ON v\($0).id = g.w\($0)" }.joined(separator: " ")
            sql += "CREATE VIEW ngram\(n)_text AS SELECT \(text) AS ngram, g.count AS count, g.df AS df FROM ngram\(n) g \(joins);\n"
            unions.append("SELECT \(n), ngram, count, df FROM ngram\(n)_text")
        }
        sql += "CREATE VIEW ngrams AS " + unions.joined(separator: " UNION ALL ") + ";\n"
        return sql
    }
}
