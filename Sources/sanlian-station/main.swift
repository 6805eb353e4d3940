import ServiceFrame
import StationService

await ServiceMain.run(StationService.self)
