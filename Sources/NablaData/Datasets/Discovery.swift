import Foundation
import Nabla

/// Finds dataset files on this machine, the way Keras and torchvision do.
///
/// A dataset named `fashion-mnist` is looked for, in order, in `$NABLA_DATA/fashion-mnist`,
/// `~/.nabla/datasets/fashion-mnist` and `/usr/share/datasets/fashion-mnist` (where Debian's
/// `dataset-fashion-mnist` package puts it). A file is found with or without a `.gz` suffix.
public enum DatasetDiscovery {
    /// The folders searched for a dataset, in order.
    public static func searchFolders(for name: String) -> [String] {
        var folders: [String] = []
        let environment = ProcessInfo.processInfo.environment
        if let root = environment["NABLA_DATA"], !root.isEmpty { folders.append("\(root)/\(name)") }
        let home = environment["HOME"] ?? NSHomeDirectory()
        folders.append("\(home)/.nabla/datasets/\(name)")
        folders.append("/usr/share/datasets/\(name)")
        return folders
    }

    /// Returns the folder that holds every one of `files` (each plain or `.gz`).
    ///
    /// - Throws: `NablaError` (`.notFound`) listing the folders searched and how to get the data.
    public static func locate(_ name: String, files: [String], howToGet: String) throws -> String {
        let manager = FileManager.default
        for folder in searchFolders(for: name) {
            if files.allSatisfy({
                manager.fileExists(atPath: "\(folder)/\($0)") || manager.fileExists(atPath: "\(folder)/\($0).gz")
            }) {
                return folder
            }
        }
        throw NablaError(
            .notFound,
            "dataset '\(name)' not found; looked for \(files.joined(separator: ", ")) in "
                + searchFolders(for: name).joined(separator: ", ") + ". \(howToGet)")
    }

    /// Returns the path of `file` in `folder`, preferring the plain file over `.gz`.
    public static func path(of file: String, in folder: String) -> String {
        FileManager.default.fileExists(atPath: "\(folder)/\(file)") ? "\(folder)/\(file)" : "\(folder)/\(file).gz"
    }
}
