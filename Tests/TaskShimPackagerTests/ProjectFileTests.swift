import Foundation
import Testing
import TaskShimCore
import TaskShimPackager
import TestSupport

/// Nothing outside the project gets into a bundle, and no entry climbs out of where it is unpacked.
struct ProjectFileTests {
    @Test func aFileInsideIsShippedAtItsPathInTheProject() throws {
        let project = try TemporaryDirectory()
        _ = try project.write("q/one.sql", "SELECT 1")
        let file = try ProjectFile("q/./x/../one.sql", root: project.path)
        #expect(file.archivePath == "q/one.sql")
        #expect(try ProjectFile(project.file("q/one.sql"), root: project.path).archivePath == "q/one.sql")
    }

    @Test(arguments: ["../outside.sql", "q/../../outside.sql", "/etc/passwd"]) func aPathLeavingTheProjectIsRefused(path: String) throws {
        let parent = try TemporaryDirectory()
        _ = try parent.write("outside.sql", "SELECT 'secret'")
        _ = try parent.write("project/q/keep", "")
        #expect { try ProjectFile(path, root: parent.file("project")) } throws: { error in
            (error as? TaskShimError)?.status == .dataError && (error as? TaskShimError)?.message.contains("outside the project") == true
        }
    }

    @Test func aLinkToAFileOutsideIsRefused() throws {
        let parent = try TemporaryDirectory()
        _ = try parent.write("outside.sql", "SELECT 'secret'")
        _ = try parent.write("project/keep", "")
        try FileManager.default.createSymbolicLink(atPath: parent.file("project/link.sql"), withDestinationPath: parent.file("outside.sql"))
        #expect { try ProjectFile("link.sql", root: parent.file("project")) } throws: { error in
            (error as? TaskShimError)?.message.contains("is a link to") == true
        }
    }

    @Test func aMissingFileSaysWhereItLooked() throws {
        let project = try TemporaryDirectory()
        #expect { try ProjectFile("nightly.sql", root: project.path) } throws: { error in
            (error as? TaskShimError)?.status == .noInput && (error as? TaskShimError)?.message.contains("nightly.sql does not exist") == true
        }
    }
}
