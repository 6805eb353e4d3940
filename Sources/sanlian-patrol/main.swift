import PatrolService
import ServiceFrame

await ServiceMain.run(PatrolService.self)
