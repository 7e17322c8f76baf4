import Foundation

/// Runs Python scripts that check our files with the real readers (`safetensors`, `numpy`), when
/// Python and the packages are installed (CI installs them).
public enum PythonCheck {
    /// Whether `python3` imports `safetensors` and `numpy`.
    public static let available: Bool = (try? run("import safetensors, numpy; print('ok')")) == "ok\n"

    /// Runs `script` with `arguments` and returns its standard output.
    public static func run(_ script: String, _ arguments: String...) throws -> String {
        try ChildProcess.run("python3", ["-c", script] + arguments).stdout
    }

    /// A script that prints a safetensors file's metadata and each tensor's shape and sum as JSON.
    public static let safetensorsSummary = """
        import json, sys
        from safetensors import safe_open
        with safe_open(sys.argv[1], framework="numpy") as f:
            meta = f.metadata()
            out = {k: [list(f.get_tensor(k).shape), float(f.get_tensor(k).astype("float64").sum())] for k in f.keys()}
        print(json.dumps({"meta": meta, "tensors": out}))
        """
}
