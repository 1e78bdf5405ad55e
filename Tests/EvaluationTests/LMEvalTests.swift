import Foundation
import Testing
import Tokenization
import Statistics
@testable import Evaluation
import TestSupport

/// lm-evaluation-harness samples files in the shapes its versions write, one fixture per task
/// family, each with the gold answer a reader must find. The fixtures are written here in the
/// harness's formats (the documents are invented).
@Suite struct LMEvalTests {
    /// One sample line in the 0.4.3+ shape: `arguments` as gen_args, log-likelihoods as strings.
    static func sample(_ docID: Int, doc: String, target: String, metrics: String, filter: String = "none",
                       arguments: String = "{\"gen_args_0\": {\"arg_0\": \"ctx\", \"arg_1\": \" a\"}}") -> String {
        "{\"doc_id\": \(docID), \"doc\": \(doc), \"target\": \(target), \"arguments\": \(arguments), " +
        "\"resps\": [[[\"-1.25\", \"False\"]]], \"filtered_resps\": [[\"-1.25\", \"False\"]], \"filter\": \"\(filter)\", " +
        "\"metrics\": [\"acc\"], \"doc_hash\": \"h\", \"prompt_hash\": \"p\", \"target_hash\": \"t\", \(metrics)}"
    }

    static func read(_ path: String, _ configure: (inout EvalFields) -> Void = { _ in }) throws -> ([EvalRow], EvalReadReport) {
        var f = EvalFields()
        f.needAnswer = true
        configure(&f)
        return try readEvalFiles([path], fields: f, onError: .stop)
    }

    @Test func multipleChoiceTargetsMapToTheGoldChoiceInEveryShape() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        let cases: [(task: String, line: String, question: String, answer: String)] = [
            // ARC since 0.4.4: the index as a string; choices with labels.
            ("arc_challenge", Self.sample(0, doc: "{\"id\": \"Mercury_1\", \"question\": \"Which gas do plants take in?\", \"choices\": {\"text\": [\"oxygen\", \"nitrogen\", \"carbon dioxide\", \"helium\"], \"label\": [\"A\", \"B\", \"C\", \"D\"]}, \"answerKey\": \"C\"}",
                                          target: "\"2\"", metrics: "\"acc\": 1.0, \"acc_norm\": 1.0"),
             "Which gas do plants take in?", "carbon dioxide"),
            // ARC before 0.4.4: an int.
            ("arc_easy", Self.sample(1, doc: "{\"question\": \"What melts ice?\", \"choices\": {\"text\": [\"heat\", \"cold\"], \"label\": [\"1\", \"2\"]}, \"answerKey\": \"1\"}",
                                     target: "0", metrics: "\"acc\": 0, \"acc_norm\": 0"),
             "What melts ice?", "heat"),
            // HellaSwag after the harness's preprocessing: query, choices, an int target.
            ("hellaswag", Self.sample(2, doc: "{\"query\": \"Baking: She cracks two eggs into the bowl and\", \"choices\": [\"flies away.\", \"whisks them.\", \"sings.\", \"sleeps.\"], \"gold\": 1, \"endings\": [\"flies away.\", \"whisks them.\", \"sings.\", \"sleeps.\"], \"ctx\": \"She cracks two eggs into the bowl and\"}",
                                      target: "1", metrics: "\"acc\": 1.0, \"acc_norm\": 1.0"),
             "Baking: She cracks two eggs into the bowl and", "whisks them."),
            // PIQA: sol1/sol2.
            ("piqa", Self.sample(3, doc: "{\"goal\": \"To dry wet shoes\", \"sol1\": \"stuff them with newspaper\", \"sol2\": \"put them in the freezer\", \"label\": 0}",
                                 target: "0", metrics: "\"acc\": 1.0, \"acc_norm\": 0.0"),
             "To dry wet shoes", "stuff them with newspaper"),
            // WinoGrande: the target is the continuation; the gold option is doc.answer.
            ("winogrande", Self.sample(4, doc: "{\"sentence\": \"The trophy did not fit in the case because the _ was too big.\", \"option1\": \"trophy\", \"option2\": \"case\", \"answer\": \"1\"}",
                                       target: "\"was too big.\"", metrics: "\"acc\": 1.0"),
             "The trophy did not fit in the case because the _ was too big.", "trophy"),
            // MMLU: a choices list and an int.
            ("mmlu_astronomy", Self.sample(5, doc: "{\"question\": \"Which planet is largest?\", \"subject\": \"astronomy\", \"choices\": [\"Mars\", \"Venus\", \"Jupiter\", \"Earth\"], \"answer\": 2}",
                                           target: "2", metrics: "\"acc\": 0.0"),
             "Which planet is largest?", "Jupiter"),
            // OpenBookQA: question_stem, labelled choices, a label as target.
            // SciQ: the choices are built from distractors by the task, not in the doc; the requests
            // hold them as continuations.
            ("sciq", Self.sample(7, doc: "{\"question\": \"What gas do plants release?\", \"distractor1\": \"argon\", \"distractor2\": \"neon\", \"distractor3\": \"xenon\", \"correct_answer\": \"oxygen\", \"support\": \"...\"}",
                                 target: "3", metrics: "\"acc\": 1.0",
                                 arguments: "{\"gen_args_0\": {\"arg_0\": \"Q\", \"arg_1\": \" argon\"}, \"gen_args_1\": {\"arg_0\": \"Q\", \"arg_1\": \" neon\"}, \"gen_args_2\": {\"arg_0\": \"Q\", \"arg_1\": \" xenon\"}, \"gen_args_3\": {\"arg_0\": \"Q\", \"arg_1\": \" oxygen\"}}"),
             "What gas do plants release?", "oxygen"),
            // BoolQ before 0.4.3: a list of requests, the choices " no"/" yes".
            ("boolq", Self.sample(8, doc: "{\"question\": \"is the sun a star\", \"passage\": \"...\", \"label\": 1}",
                                  target: "1", metrics: "\"acc\": 1.0", arguments: "[[\"Q\", \" no\"], [\"Q\", \" yes\"]]"),
             "is the sun a star", "yes"),
            ("openbookqa", Self.sample(6, doc: "{\"id\": \"7-980\", \"question_stem\": \"The sun is responsible for\", \"choices\": {\"text\": [\"puppies learning\", \"plants sprouting\"], \"label\": [\"A\", \"B\"]}, \"answerKey\": \"B\"}",
                                       target: "\"B\"", metrics: "\"acc\": 1.0, \"acc_norm\": 1.0"),
             "The sun is responsible for", "plants sprouting"),
        ]
        for c in cases {
            let path = dir + "/samples_\(c.task)_2024-06-01T10-00-00.000000.jsonl"
            TestSupport.write(path, c.line + "\n")
            let (rows, rep) = try Self.read(path)
            #expect(rep.files[0].format == .lmEvalSamples)
            #expect(rows.count == 1, "\(c.task)")
            #expect(rows.first?.question == c.question, "\(c.task): \(rows.first?.question ?? "-")")
            #expect(rows.first?.answers == [c.answer], "\(c.task): \(rows.first?.answers ?? [])")
        }
    }

    @Test func listTargetsAreAliasesAndGSM8KIsTheNumberAfterTheMarks() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        // TriviaQA: the target is a stringified Python list; the doc has answer.value/aliases.
        let trivia = dir + "/samples_triviaqa_2024-06-01T10-00-00.jsonl"
        TestSupport.write(trivia, Self.sample(0, doc: "{\"question\": \"Which Lloyd Webber musical premiered in the US in 1993?\", \"answer\": {\"value\": \"Sunset Boulevard\", \"aliases\": [\"Sunset Blvd\", \"Sunset Boulevard\", \"Sunset Bulevard\"]}}",
                                              target: "\"['Sunset Blvd', 'Sunset Boulevard', \\\"Sunset Bulevard\\\"]\"", metrics: "\"exact_match\": 1.0") + "\n")
        #expect(try Self.read(trivia).0[0].answers == ["Sunset Boulevard", "Sunset Blvd", "Sunset Bulevard"])
        // NQ-open: only the stringified list (with an apostrophe inside double quotes).
        let nq = dir + "/samples_nq_open_2024-06-01T10-00-00.jsonl"
        TestSupport.write(nq, Self.sample(0, doc: "{\"question\": \"who wrote the song\", \"answer\": [\"Bob Dylan\"]}",
                                         target: "\"['Bob Dylan', \\\"Dylan's band\\\"]\"", metrics: "\"exact_match\": 0.0") + "\n")
        #expect(try Self.read(nq).0[0].answers == ["Bob Dylan", "Dylan's band"])
        #expect(parsePythonStringList("['a', 'b\\'s']") == ["a", "b's"] && parsePythonStringList("[]") == [])
        #expect(parsePythonStringList("['unclosed") == nil && parsePythonStringList("[1, 2]") == nil && parsePythonStringList("x") == nil)
        // GSM8K: two filters log every doc twice; the first filter is read unless --filter says.
        let gsm = dir + "/samples_gsm8k_2024-06-01T10-00-00.jsonl"
        var lines: [String] = []
        for (d, q) in ["Janet has 3 ducks and buys 4 more. How many?", "A shirt costs 1,200 dollars. Half of it is?"].enumerated() {
            let sol = d == 0 ? "She has 3 + 4 = <<3+4=7>>7 ducks.\\n#### 7" : "Half is 1200 / 2 = <<1200/2=600>>600\\n#### 600"
            for (filter, em) in [("strict-match", d == 0 ? "1.0" : "0.0"), ("flexible-extract", "1.0")] {
                lines.append(Self.sample(d, doc: "{\"question\": \"\(q)\", \"answer\": \"\(sol)\"}", target: "\"\(sol)\"",
                                         metrics: "\"exact_match\": \(em)", filter: filter))
            }
        }
        TestSupport.write(gsm, lines.joined(separator: "\n") + "\n")
        let (rows, rep) = try Self.read(gsm)
        #expect(rows.count == 2 && rows.map(\.answers) == [["7"], ["600"]] && rows.map(\.correct) == [1, 0])
        #expect(rep.filters.count == 1 && rep.filters[0].chosen == "strict-match" && rep.filters[0].dropped == 2)
        #expect(rep.filters[0].available == ["strict-match", "flexible-extract"])
        let (flex, _) = try Self.read(gsm) { $0.filter = "flexible-extract" }
        #expect(flex.map(\.correct) == [1, 1])
        #expect { try Self.read(gsm) { $0.filter = "majority" } } throws: { ($0 as? EvalError)?.description.contains("strict-match, flexible-extract") ?? false }
    }

    @Test func arrayFilesPreRefactorLogsAndMetricsThatAreNotNumbers() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        // 0.4.0-0.4.2: one JSON array per file.
        let arr = dir + "/samples_arc_easy_2024-01-01T00-00-00.jsonl"
        let a = Self.sample(0, doc: "{\"question\": \"Q0?\", \"choices\": {\"text\": [\"x\", \"y\"], \"label\": [\"A\", \"B\"]}}", target: "1", metrics: "\"acc\": 1.0")
        let b = Self.sample(1, doc: "{\"question\": \"Q1?\", \"choices\": {\"text\": [\"x\", \"y\"], \"label\": [\"A\", \"B\"]}}", target: "0", metrics: "\"acc\": 0.0")
        TestSupport.write(arr, "[\n  \(a),\n  \(b)\n]\n")
        let (rows, rep) = try Self.read(arr)
        #expect(rep.files[0].format == .lmEvalSamples && rows.map(\.answers) == [["y"], ["x"]] && rows.map(\.line) == [1, 2])
        // The 2023 pre-0.4 logs: `arguments` a list, native floats and booleans.
        let old = dir + "/samples_piqa_2023-08-01T00-00-00.jsonl"
        TestSupport.write(old, "{\"doc_id\": 0, \"doc\": {\"goal\": \"Open a jar\", \"sol1\": \"twist the lid\", \"sol2\": \"eat the lid\"}, \"target\": 0, \"arguments\": [[\"Question: Open a jar\\nAnswer:\", \" twist the lid\"], [\"Question: Open a jar\\nAnswer:\", \" eat the lid\"]], \"resps\": [[[-2.5, false]], [[-7.0, false]]], \"filtered_resps\": [[-2.5, false], [-7.0, false]], \"acc\": true}\n")
        let (o, _) = try Self.read(old)
        #expect(o[0].answers == ["twist the lid"] && o[0].correct == 1)
        // f1 logged as [gold, [prediction]]: not a correctness; the error names the numeric fields.
        let f1 = dir + "/samples_squad_2024-01-01T00-00-00.jsonl"
        TestSupport.write(f1, "{\"doc_id\": 0, \"doc\": {\"question\": \"Who?\"}, \"target\": \"Ann\", \"f1\": [\"Ann\", [\"Ann B\"]], \"exact_match\": 0, \"contains\": 1}\n")
        #expect { try Self.read(f1) { $0.correct = "f1" } } throws: { e in
            let d = (e as? EvalError)?.description ?? ""
            return d.contains("a list") && d.contains("contains, exact_match")
        }
        let bare = dir + "/samples_squad2_2024-01-01T00-00-00.jsonl"
        TestSupport.write(bare, "{\"doc_id\": 0, \"doc\": {\"question\": \"Who?\"}, \"target\": \"Ann\", \"f1\": 0.5, \"contains\": 1}\n")
        #expect { try Self.read(bare) } throws: { e in
            let d = (e as? EvalError)?.description ?? ""
            return (e as? EvalError)?.kind == .missingField && d.contains("contains, f1") && d.contains("--correct-field")
        }
        #expect(try Self.read(bare) { $0.correct = "f1" }.0[0].correct == 0.5)
    }

    @Test func theModelComesFromTheResultsFileBesideTheSamples() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        for (sub, model, stamp) in [("EleutherAI__pythia-160m", "EleutherAI/pythia-160m", "2024-06-01T10-00-00.000001"),
                                    ("EleutherAI__pythia-1.4b", "EleutherAI/pythia-1.4b", "2024-06-02T11-00-00.000002")] {
            let d = dir + "/" + sub
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
            TestSupport.write(d + "/samples_piqa_\(stamp).jsonl",
                              Self.sample(0, doc: "{\"goal\": \"Open a jar\", \"sol1\": \"twist\", \"sol2\": \"eat\"}", target: "0", metrics: "\"acc\": 1.0") + "\n")
            // 0.4.x: model_args as a string; an older run of another model in the same folder.
            TestSupport.write(d + "/results_\(stamp).json", "{\"results\": {\"piqa\": {\"acc,none\": 1.0}}, \"config\": {\"model\": \"hf\", \"model_args\": \"pretrained=\(model),dtype=float16\"}}")
            TestSupport.write(d + "/results_2023-01-01T00-00-00.json", "{\"config\": {\"model\": \"hf\", \"model_args\": \"pretrained=other/model\"}}")
        }
        var f = EvalFields()
        f.groupBy = ["model", "task"]
        let paths = [dir + "/EleutherAI__pythia-160m/samples_piqa_2024-06-01T10-00-00.000001.jsonl",
                     dir + "/EleutherAI__pythia-1.4b/samples_piqa_2024-06-02T11-00-00.000002.jsonl"]
        let (rows, rep) = try readEvalFiles(paths, fields: f, onError: .stop)
        #expect(rows.map(\.group) == [["EleutherAI/pythia-160m", "piqa"], ["EleutherAI/pythia-1.4b", "piqa"]])
        #expect(rep.models.count == 2)
        // The same doc answered by both models is one question.
        #expect(rows[0].key == rows[1].key && rows[0].key == "piqa:0")
        // Without a results file, --group-by model is an error that says so.
        try FileManager.default.removeItem(atPath: dir + "/EleutherAI__pythia-160m/results_2024-06-01T10-00-00.000001.json")
        try FileManager.default.removeItem(atPath: dir + "/EleutherAI__pythia-160m/results_2023-01-01T00-00-00.json")
        #expect(throws: EvalError.self) { try readEvalFiles([paths[0]], fields: f, onError: .stop) }
    }
}

/// The gazetteer: entities found in questions, against a naive matcher.
@Suite struct GazetteerTests {
    @Test func longestNonOverlappingMatchesAgreeWithANaiveMatcher() throws {
        let tok = Tokenizer(config: TokenizerConfig(caseFold: true))
        let entries: [(name: String, aliases: [String])] = [
            ("New York", ["NYC"]), ("New York City", []), ("York", []), ("City of London", ["the City"]),
            ("London", []), ("The", []), ("Bob Dylan", ["Dylan", "Robert Zimmerman"]), ("United States", ["USA", "U.S."]),
        ]
        let g = Gazetteer(entries: entries, tokenizer: tok, stopwords: defaultStopwords)
        // "The" is only a stopword: never an entity; "the City" keeps its non-stopword token.
        #expect(!g.entries.map(\.text).contains("The"))
        // Naive: at each position try every alias of every entry, keep the longest, move past it.
        func naive(_ toks: [String]) -> [String] {
            var out: [String] = [], i = 0
            while i < toks.count {
                var best: (String, Int)? = nil
                for e in g.entries { for a in e.aliases where a.count <= toks.count - i && Array(toks[i..<(i + a.count)]) == a {
                    if best == nil || a.count > best!.1 { best = (e.text, a.count) }
                } }
                if let b = best { if !out.contains(b.0) { out.append(b.0) }; i += b.1 } else { i += 1 }
            }
            return out
        }
        var rng = Xoshiro256(seed: 2)
        let words = ["new", "york", "city", "of", "london", "the", "bob", "dylan", "robert", "zimmerman", "usa", "u", "s", "united", "states", "nyc", "x"]
        for _ in 0..<2000 {
            let toks = (0..<Int(rng.next() % 12)).map { _ in words[Int(rng.next() % UInt64(words.count))] }
            let got = g.matches(toks).map { g.entries[$0].text }
            #expect(got == naive(toks), "\(toks)")
        }
        // In a question, through TermExtractor, with all aliases of each entity.
        let row = EvalRow(file: "f", line: 1, id: "1", key: "k", question: "Did Bob Dylan live in New York City or the City of London?",
                          answers: [], correct: nil, group: [], termFields: [:], extra: [:])
        let terms = TermExtractor(specs: [.entities], tokenizer: tok, gazetteer: g).terms(of: row)
        // Leftmost first: "the City" (an alias of City of London) starts before "City of London",
        // so "London" after it is an entity of its own.
        #expect(terms.map(\.text) == ["Bob Dylan", "New York City", "City of London", "London"])
        #expect(terms[0].aliases == [["bob", "dylan"], ["dylan"], ["robert", "zimmerman"]])
    }

    @Test func theEntitiesCommandListsAFieldByDocumentCount() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        TestSupport.write(dir + "/c.jsonl", """
        {"title": "Paris", "text": "a"}
        {"title": "Berlin", "text": "b"}
        {"title": "Paris", "text": "c"}
        {"title": " ", "text": "d"}
        """)
        let v = try corpusFieldValues([dir + "/c.jsonl"], field: "title", onError: .stop)
        #expect(v.map(\.name) == ["Paris", "Berlin"] && v.map(\.docs) == [2, 1])
        TestSupport.write(dir + "/g.tsv", "# a comment\nParis\tParis, France\tLutetia\n\nBerlin\n")
        let tok = Tokenizer(config: TokenizerConfig(caseFold: true))
        let g = try Gazetteer(path: dir + "/g.tsv", tokenizer: tok)
        #expect(g.entries.map(\.text) == ["Paris", "Berlin"])
        #expect(g.entries[0].aliases == [["paris"], ["paris", "france"], ["lutetia"]])
    }
}
